package ipp

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// TestPage returns a one-page A4 PDF that says "Station test page", the time at, and each of lines.
// It uses only the standard Helvetica font, so text must be ASCII; other characters print as '?'.
func TestPage(at time.Time, lines ...string) []byte {
	text := append([]string{"Station test page", at.Format("2006-01-02 15:04:05 -0700")}, lines...)
	var content strings.Builder
	content.WriteString("BT\n/F1 28 Tf\n72 760 Td\n")
	for i, l := range text {
		if i == 1 {
			content.WriteString("/F1 14 Tf\n0 -40 Td\n")
		} else if i > 1 {
			content.WriteString("0 -22 Td\n")
		}
		fmt.Fprintf(&content, "(%s) Tj\n", pdfString(l))
	}
	content.WriteString("ET\n")

	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// pdfString escapes s for a PDF literal string, replacing anything outside printable ASCII by '?'.
func pdfString(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
