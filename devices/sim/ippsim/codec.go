package ippsim

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file is a minimal IPP/1.1 message codec (RFC 8010 §3). The simulator has its own codec rather
// than go-ipp's, so the driver in devices/ipp is tested against an independent reading of the
// standard: a mistake shared by both sides would otherwise cancel out.

// Delimiter tags (RFC 8010 §3.5.1).
const (
	tagOperationGroup   byte = 0x01
	tagJobGroup         byte = 0x02
	tagEnd              byte = 0x03
	tagPrinterGroup     byte = 0x04
	tagUnsupportedGroup byte = 0x05
	tagNoValue          byte = 0x13 // out-of-band value: no value yet
)

// Value tags (RFC 8010 §3.5.2).
const (
	tagInteger         byte = 0x21
	tagBoolean         byte = 0x22
	tagEnum            byte = 0x23
	tagText            byte = 0x41
	tagName            byte = 0x42
	tagKeyword         byte = 0x44
	tagURI             byte = 0x45
	tagURIScheme       byte = 0x46
	tagCharset         byte = 0x47
	tagNaturalLanguage byte = 0x48
	tagMimeMediaType   byte = 0x49
	tagBeginCollection byte = 0x34
	tagEndCollection   byte = 0x37
	tagMemberAttrName  byte = 0x4a
)

// value is one attribute value as it was on the wire.
type value struct {
	tag  byte
	data []byte
}

// attribute is a named attribute with one or more values.
type attribute struct {
	name   string
	values []value
}

// group is an attribute group: operation, job, printer or unsupported attributes.
type group struct {
	tag   byte
	attrs []attribute
}

// message is an IPP request or response. code is the operation-id of a request or the status-code
// of a response. data is the document that follows the attributes, if any.
type message struct {
	major, minor byte
	code         uint16
	requestID    uint32
	groups       []group
	data         []byte
}

var errTruncated = errors.New("ipp message truncated")

// decodeMessage parses an encoded IPP message. It never panics on malformed input.
func decodeMessage(b []byte) (*message, error) {
	if len(b) < 9 {
		return nil, errTruncated
	}
	m := &message{
		major:     b[0],
		minor:     b[1],
		code:      binary.BigEndian.Uint16(b[2:4]),
		requestID: binary.BigEndian.Uint32(b[4:8]),
	}
	p := 8
	var cur *group
	for {
		if p >= len(b) {
			return nil, errTruncated
		}
		tag := b[p]
		p++
		if tag == tagEnd {
			m.data = b[p:]
			return m, nil
		}
		if tag < 0x10 {
			if tag == 0 {
				return nil, fmt.Errorf("invalid delimiter tag 0x%02x", tag)
			}
			m.groups = append(m.groups, group{tag: tag})
			cur = &m.groups[len(m.groups)-1]
			continue
		}
		if cur == nil {
			return nil, errors.New("attribute outside any group")
		}
		name, next, err := readField(b, p)
		if err != nil {
			return nil, err
		}
		data, next, err := readField(b, next)
		if err != nil {
			return nil, err
		}
		p = next
		v := value{tag: tag, data: data}
		if len(name) == 0 {
			if len(cur.attrs) == 0 {
				return nil, errors.New("additional value without an attribute")
			}
			last := &cur.attrs[len(cur.attrs)-1]
			last.values = append(last.values, v)
			continue
		}
		cur.attrs = append(cur.attrs, attribute{name: string(name), values: []value{v}})
	}
}

// readField reads a two-byte length and that many bytes starting at b[p].
func readField(b []byte, p int) ([]byte, int, error) {
	if p+2 > len(b) {
		return nil, 0, errTruncated
	}
	n := int(binary.BigEndian.Uint16(b[p : p+2]))
	p += 2
	if p+n > len(b) {
		return nil, 0, errTruncated
	}
	return b[p : p+n], p + n, nil
}

// encode returns the wire form of m.
func (m *message) encode() []byte {
	b := []byte{m.major, m.minor}
	b = binary.BigEndian.AppendUint16(b, m.code)
	b = binary.BigEndian.AppendUint32(b, m.requestID)
	for _, g := range m.groups {
		b = append(b, g.tag)
		for _, a := range g.attrs {
			for i, v := range a.values {
				b = append(b, v.tag)
				if i == 0 {
					b = appendField(b, []byte(a.name))
				} else {
					b = appendField(b, nil)
				}
				b = appendField(b, v.data)
			}
		}
	}
	b = append(b, tagEnd)
	return append(b, m.data...)
}

func appendField(b, field []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(field)))
	return append(b, field...)
}

// group returns the first group with the given tag, or nil.
func (m *message) group(tag byte) *group {
	for i := range m.groups {
		if m.groups[i].tag == tag {
			return &m.groups[i]
		}
	}
	return nil
}

// addGroup appends an empty group and returns it.
func (m *message) addGroup(tag byte) *group {
	m.groups = append(m.groups, group{tag: tag})
	return &m.groups[len(m.groups)-1]
}

// get returns the attribute called name, or nil.
func (g *group) get(name string) *attribute {
	if g == nil {
		return nil
	}
	for i := range g.attrs {
		if g.attrs[i].name == name {
			return &g.attrs[i]
		}
	}
	return nil
}

// str returns the first value of a string-like attribute and whether it had one.
func (a *attribute) str() (string, bool) {
	if a == nil || len(a.values) == 0 {
		return "", false
	}
	return string(a.values[0].data), true
}

// strs returns all values of a string-like attribute.
func (a *attribute) strs() []string {
	if a == nil {
		return nil
	}
	out := make([]string, 0, len(a.values))
	for _, v := range a.values {
		out = append(out, string(v.data))
	}
	return out
}

// int returns the first value of an integer or enum attribute and whether it had one.
func (a *attribute) int() (int, bool) {
	if a == nil || len(a.values) == 0 || len(a.values[0].data) != 4 {
		return 0, false
	}
	return int(int32(binary.BigEndian.Uint32(a.values[0].data))), true
}

// add appends an attribute with string-like values (text, name, keyword, uri, charset …).
func (g *group) add(name string, tag byte, vals ...string) {
	a := attribute{name: name}
	for _, s := range vals {
		a.values = append(a.values, value{tag: tag, data: []byte(s)})
	}
	g.attrs = append(g.attrs, a)
}

// addInts appends an integer or enum attribute.
func (g *group) addInts(name string, tag byte, vals ...int) {
	a := attribute{name: name}
	for _, n := range vals {
		a.values = append(a.values, value{tag: tag, data: binary.BigEndian.AppendUint32(nil, uint32(int32(n)))})
	}
	g.attrs = append(g.attrs, a)
}

// addBool appends a boolean attribute.
func (g *group) addBool(name string, v bool) {
	d := []byte{0}
	if v {
		d[0] = 1
	}
	g.attrs = append(g.attrs, attribute{name: name, values: []value{{tag: tagBoolean, data: d}}})
}
