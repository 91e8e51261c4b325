package station

import (
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		name      string
		s         string
		multiline bool
		want      string // "" when valid, else a part of the message
	}{
		{"a Chinese name is valid", "欧阳娜娜", false, ""},
		{"a minority name with a middle dot is valid", "阿依古丽·买买提", false, ""},
		{"a NUL byte is refused with its position", "张\x00三", false, "第2个字符是不可见的控制字符"},
		{"an escape character is refused", "\x1b[31m张三", false, "第1个字符是不可见的控制字符"},
		{"a line break in a name is refused", "张三\n李四", false, "控制字符"},
		{"a C1 control is refused", "张\u0085三", false, "控制字符"},
		{"a right-to-left override is refused", "张三\u202e", false, "控制字符"},
		{"invalid UTF-8 is refused", "张\xff三", false, "不是有效的UTF-8编码"},
		{"a replacement character is refused", "张\ufffd三", false, "第2个字符无法识别"},
		{"a required empty text is refused", "  ", false, "姓名不能为空"},
		{"a text over the limit is refused with its length", strings.Repeat("张", 11), false, "不能超过10个字符，当前为11个"},
		{"a note may run over lines and hold tabs", "第一行\r\n第二行\t完", true, ""},
		{"a note may not hold a NUL", "第一行\n\x00", true, "第5个字符"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := CheckText
			if tt.multiline {
				check = CheckLongText
			}
			err := check("姓名", tt.s, 10, true)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.want) || !strings.HasPrefix(ErrorMessage(err), "姓名") {
				t.Fatalf("got %v, want EINVALID naming 姓名 and saying %q", err, tt.want)
			}
		})
	}
}

func TestValidatePhone(t *testing.T) {
	valid := []string{
		"", "13800001234", "19912345678", "138 0000 1234", "138-0000-1234", "+86 13800001234", "8613800001234",
		"010-62345678", "01062345678", "(010)62345678", "021 62345678", "0431-8123456", "0431-81234567",
		"0431-8123456转123", "010-62345678-8001", "0755-23456789#12", "0431-8123456分机88",
	}
	invalid := []string{
		"-1", "1", "12345678901", "1380000123", "138000012345", "23800001234", "12800001234",
		"010-1234567", "010-02345678", "0431-123456", "0431-0123456", "12345", "abc", "1380000123x",
		"13800001234转12", "0431-8123456转1234567", "＋8613800001234", "１３８００００１２３４",
	}
	for _, p := range valid {
		if err := ValidatePhone("联系电话", p); err != nil {
			t.Errorf("%q refused: %v", p, err)
		}
	}
	for _, p := range invalid {
		err := ValidatePhone("联系电话", p)
		if ErrorCode(err) != EINVALID || !strings.HasPrefix(ErrorMessage(err), "联系电话格式不正确") {
			t.Errorf("%q: got %v, want EINVALID naming the field", p, err)
		}
	}
}
