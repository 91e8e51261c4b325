package pdf

import (
	"strings"
	"unicode"
)

// Line-breaking rules for Chinese text (避头尾): these never start a line…
const noStart = "，。、；：？！）］｝〕〉》」』】〗〙〛”’…—～%‰℃·,.;:?!)]}>"

// …and these never end one.
const noEnd = "（［｛〔〈《「『【〖〘〚“‘([{<"

// atom is the smallest piece a line may be broken around: one Han character, a word of Latin letters
// and digits, or a space. Punctuation that must not start or end a line is glued to its neighbour.
type atom struct {
	text  string
	space bool
}

// atoms splits s into atoms.
func atoms(s string) []atom {
	var out []atom
	var word []rune
	flushWord := func() {
		if len(word) > 0 {
			out = append(out, atom{text: string(word)})
			word = word[:0]
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			flushWord()
			if n := len(out); n > 0 && out[n-1].space {
				continue // collapse runs of spaces
			}
			out = append(out, atom{text: " ", space: true})
		case isWordRune(r):
			word = append(word, r)
		default:
			flushWord()
			out = append(out, atom{text: string(r)})
		}
	}
	flushWord()

	// Glue: a no-start atom joins the atom before it; an atom after a no-end atom joins it.
	glued := out[:0:0]
	for _, a := range out {
		n := len(glued)
		switch {
		case n > 0 && !a.space && !glued[n-1].space && strings.ContainsRune(noStart, firstRune(a.text)):
			glued[n-1].text += a.text
		case n > 0 && !a.space && !glued[n-1].space && strings.ContainsRune(noEnd, lastRune(glued[n-1].text)):
			glued[n-1].text += a.text
		default:
			glued = append(glued, a)
		}
	}
	return glued
}

// isWordRune reports runes that form unbreakable words: Latin letters, digits and the ASCII
// punctuation found inside numbers, serials and addresses.
func isWordRune(r rune) bool {
	if r < 0x80 {
		return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_./:@#&*+=~'\"", r)
	}
	return unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic) && !unicode.In(r, unicode.Han)
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}

func lastRune(s string) rune {
	rs := []rune(s)
	if len(rs) == 0 {
		return 0
	}
	return rs[len(rs)-1]
}

// wrap breaks s into lines no wider than width points at size points. The first line is indented by
// indent points. Spaces at the start and end of a line are dropped. An atom wider than a whole line (a
// long URL) is broken between characters.
func (m *metrics) wrap(s string, size, indent, width float64) ([]string, error) {
	var lines []string
	var cur strings.Builder
	curW := indent
	avail := width
	pendingSpace := false
	emit := func() {
		lines = append(lines, cur.String())
		cur.Reset()
		curW, pendingSpace = 0, false
	}
	for _, a := range atoms(s) {
		if a.space {
			pendingSpace = cur.Len() > 0
			continue
		}
		w, err := m.width(a.text, size)
		if err != nil {
			return nil, err
		}
		spaceW := 0.0
		if pendingSpace {
			if spaceW, err = m.width(" ", size); err != nil {
				return nil, err
			}
		}
		if curW+spaceW+w <= avail {
			if pendingSpace {
				cur.WriteByte(' ')
			}
			cur.WriteString(a.text)
			curW += spaceW + w
			pendingSpace = false
			continue
		}
		if cur.Len() > 0 {
			emit()
		}
		if w <= avail-curW {
			cur.WriteString(a.text)
			curW += w
			continue
		}
		// Wider than a line: break between characters.
		for _, r := range a.text {
			rw, err := m.width(string(r), size)
			if err != nil {
				return nil, err
			}
			if curW+rw > avail && cur.Len() > 0 {
				emit()
			}
			cur.WriteRune(r)
			curW += rw
		}
		pendingSpace = false
	}
	if cur.Len() > 0 || len(lines) == 0 {
		lines = append(lines, cur.String())
	}
	return lines, nil
}
