package sam

import (
	"fmt"

	"github.com/civic-station/station/devices"
)

// Code is a reply's SW3 status byte.
type Code byte

// SW3 status codes (GA 467).
const (
	OK                Code = 0x90 // success
	CardFound         Code = 0x9F // find card: a card is in the field
	BadChecksum       Code = 0x10 // the reader received a frame with a bad checksum
	BadLength         Code = 0x11 // the reader received a frame with a bad length
	BadCommand        Code = 0x21 // unknown command
	NotPermitted      Code = 0x23 // operation not permitted
	UnknownError      Code = 0x24 // unknown error
	CardAuthSAMFailed Code = 0x31 // the card failed to authenticate the SAM
	SAMAuthCardFailed Code = 0x32 // the SAM failed to authenticate the card
	DataVerifyFailed  Code = 0x33 // data verification error
	UnknownCardType   Code = 0x40 // unknown card type
	ReadFailed        Code = 0x41 // reading the card failed
	RandomFailed      Code = 0x47 // getting a random number failed
	SAMSelfTestFailed Code = 0x60 // the SAM's self-test failed
	SAMNotAuthorised  Code = 0x66 // the SAM is not authorised
	FindFailed        Code = 0x80 // find card: no card
	SelectFailed      Code = 0x81 // select card failed
	FieldEmpty        Code = 0x91 // the requested field is empty (e.g. no appended address)
)

type codeInfo struct {
	desc    string // English, for logs
	message string // Chinese, for the person at the reader
}

var codes = map[Code]codeInfo{
	OK:                {"success", "操作成功"},
	CardFound:         {"card found", "已检测到证件"},
	BadChecksum:       {"the reader received a frame with a bad checksum", "读卡器收到的数据校验出错，请重试"},
	BadLength:         {"the reader received a frame with a bad length", "读卡器收到的数据长度出错，请重试"},
	BadCommand:        {"the reader does not know the command", "读卡器不支持该操作，请联系工作人员"},
	NotPermitted:      {"the operation is not permitted", "读卡器拒绝了该操作，请联系工作人员"},
	UnknownError:      {"the reader reported an unknown error", "读卡器发生未知错误，请重新放置证件"},
	CardAuthSAMFailed: {"the card failed to authenticate the SAM", "证件认证读卡模块失败，请重新放置证件"},
	SAMAuthCardFailed: {"the SAM failed to authenticate the card", "无法验证证件真伪，请确认是有效证件后重新放置"},
	DataVerifyFailed:  {"the card's data failed verification", "证件信息校验出错，请重新放置证件"},
	UnknownCardType:   {"unknown card type", "无法识别的证件类型，请使用居民身份证、居住证或永久居留身份证"},
	ReadFailed:        {"reading the card failed", "读取证件失败，请将证件平放在读卡区不要移动"},
	RandomFailed:      {"getting a random number from the card failed", "与证件通信失败，请重新放置证件"},
	SAMSelfTestFailed: {"the SAM's self-test failed", "读卡模块自检失败，请联系工作人员"},
	SAMNotAuthorised:  {"the SAM is not authorised", "读卡模块未授权，无法读卡，请联系工作人员"},
	FindFailed:        {"no card found", "未检测到身份证，请将证件放在读卡区"},
	SelectFailed:      {"selecting the card failed", "选卡失败，请将证件重新放在读卡区"},
	FieldEmpty:        {"the field is empty", "证件中没有该项信息"},
}

// Codes lists every status code of the reference, success codes first.
var Codes = []Code{OK, CardFound, BadChecksum, BadLength, BadCommand, NotPermitted, UnknownError,
	CardAuthSAMFailed, SAMAuthCardFailed, DataVerifyFailed, UnknownCardType, ReadFailed, RandomFailed,
	SAMSelfTestFailed, SAMNotAuthorised, FindFailed, SelectFailed, FieldEmpty}

// OK reports whether the code means success (90, or 9F for find card).
func (c Code) OK() bool { return c == OK || c == CardFound }

// Known reports whether the code is one the reference defines.
func (c Code) Known() bool { _, ok := codes[c]; return ok }

// Description returns the code's meaning in English, for logs.
func (c Code) Description() string {
	if i, ok := codes[c]; ok {
		return i.desc
	}
	return "unrecognised status"
}

// Message returns what to tell the person at the reader, in Chinese.
func (c Code) Message() string {
	if i, ok := codes[c]; ok {
		return i.message
	}
	return "读卡器返回了无法识别的状态，请重试或联系工作人员"
}

// String formats the code as hex with its description, e.g. "0x80 (no card found)".
func (c Code) String() string { return fmt.Sprintf("0x%02X (%s)", byte(c), c.Description()) }

// StatusError is a reply that reported a failure in SW3.
//
// errors.Is(err, devices.ErrNoCard) holds for FindFailed (no card on the reader).
type StatusError struct {
	Code Code
}

// Error returns the code and its English description.
func (e *StatusError) Error() string { return "sam: reader status " + e.Code.String() }

// Message returns what to tell the person at the reader, in Chinese.
func (e *StatusError) Message() string { return e.Code.Message() }

// Is lets errors.Is match the shared device errors: FindFailed is devices.ErrNoCard.
func (e *StatusError) Is(target error) bool {
	return target == devices.ErrNoCard && e.Code == FindFailed
}

// DeviceFault reports whether the code says the reader itself (its SAM) is unusable, rather than
// something about the card or one exchange: SAM self-test failed or SAM not authorised.
func (c Code) DeviceFault() bool { return c == SAMSelfTestFailed || c == SAMNotAuthorised }
