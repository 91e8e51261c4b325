package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/civic-station/station/station"
)

// Certificate is what one printed certificate (社区证明) shows. Every text is final: placeholders are
// filled by the caller. Render draws it on one A4 page.
type Certificate struct {
	// Title is the certificate's name, e.g. "居住证明". Required.
	Title string
	// Paragraphs is the body, one string per paragraph; each is wrapped and its first line indented by
	// two characters. At least one is required.
	Paragraphs []string
	// Fields are labelled lines printed after the body ("姓名：张三"). Optional.
	Fields []Field
	// Serial is the certificate number printed top right, e.g. "ZM-2026-000123". Required.
	Serial string
	// IssueDate is printed under the issuer as "2026年11月24日" and is the PDF's creation date. Required.
	IssueDate station.Date
	// StationName is printed top left. Required.
	StationName string
	// Issuer is the issuing wording above the date, e.g. "某某社区居民委员会（盖章）". Required.
	Issuer string
	// Seal is a PNG of the station's seal (a transparent background looks right); it is drawn over the
	// issuer line. Nil draws a generated demo seal (see Seal) named after Issuer without "（盖章）".
	Seal []byte
	// QRPayload is what the QR code bottom left encodes: the signed payload or a verification URL
	// carrying it. Required; at most MaxQRPayload bytes.
	QRPayload string
	// QRCaption is printed under the QR code; empty means "扫码核验".
	QRCaption string
	// Footer lines are printed in small type at the bottom of the page, e.g. "本证明有效期至2027年5月24日"
	// and "扫码或访问 … 核验". Optional.
	Footer []string
	// Mark, when set, is printed in red in a frame beside the title, e.g. "补打" on a reprint.
	Mark string
}

// Field is one labelled line of a certificate.
type Field struct {
	Label, Value string
}

// MaxQRPayload bounds QRPayload so that the code's modules stay large enough to scan at print size.
const MaxQRPayload = 600

// MaxSeal bounds the size of a seal image.
const MaxSeal = 4 << 20

// Page layout, in points (1/72 inch) from the top-left corner of an A4 page.
const (
	pageW, pageH = 595.28, 841.89
	marginX      = 72.0 // left and right edge of the text
	textW        = pageW - 2*marginX

	borderOuter, borderInner = 28.35, 32.6 // insets of the double frame (10 mm and 11.5 mm)

	headerBaseline, headerSize = 66.0, 10.5

	titleBaseline, titleSize, titleMinSize = 142.0, 26.0, 18.0

	markSize, markPad = 16.0, 5.0

	bodySize, bodyLeading = 15.0, 28.0
	bodyTop, bodyBottom   = 200.0, 548.0 // baselines of the first and the lowest allowed body line

	signSize       = 15.0
	issuerRight    = pageW - 84
	issuerBaseline = 628.0
	dateBaseline   = 658.0
	sealDiameter   = 119.0 // 42 mm, the common size of a round official seal

	qrX, qrY, qrSize = marginX, 584.0, 92.0
	captionSize      = 9.0

	footerTop, footerLeading, footerSize, footerLines = 730.0, 15.0, 10.0, 4
)

// Colours.
var (
	black     = [3]int{0, 0, 0}
	frameGrey = [3]int{70, 70, 70}
	sealRed   = [3]int{214, 0, 15}
)

// Render draws c on one A4 page and returns the PDF. The text is real text in embedded font subsets,
// so it can be searched and extracted. The same input always gives the same bytes.
//
// It returns a *station.Error with code EINVALID, and a message for the clerk, when a required field
// is missing, a character cannot be printed with the embedded fonts, the seal is not a PNG, or the text
// does not fit on one page.
func Render(c Certificate) ([]byte, error) {
	m, err := newMetrics()
	if err != nil {
		return nil, err
	}
	l, err := layOut(m, c)
	if err != nil {
		return nil, err
	}
	seal := c.Seal
	if seal == nil {
		if seal, err = Seal(sealName(c)); err != nil {
			return nil, err
		}
	}
	seal, size, err := sealImage(seal)
	if err != nil {
		return nil, err
	}
	return l.draw(m, seal, size)
}

// sealName is the name on a generated seal: the issuer without "（盖章）", or else the station's name.
func sealName(c Certificate) string {
	name := strings.TrimSpace(c.Issuer)
	for _, suffix := range []string{"（盖章）", "(盖章)"} {
		name = strings.TrimSpace(strings.TrimSuffix(name, suffix))
	}
	if name == "" {
		return c.StationName
	}
	return name
}

// sealImage checks a seal image and returns it in a form the PDF writer takes (8 bits per channel,
// not interlaced), with its size in pixels.
func sealImage(b []byte) ([]byte, image.Point, error) {
	if len(b) > MaxSeal {
		return nil, image.Point{}, station.Errorf(station.EINVALID, "印章图片过大（%d字节，最多%d字节）", len(b), MaxSeal)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, image.Point{}, station.Errorf(station.EINVALID, "印章图片须为PNG格式")
	}
	if cfg.Width < 16 || cfg.Height < 16 || cfg.Width > 4000 || cfg.Height > 4000 {
		return nil, image.Point{}, station.Errorf(station.EINVALID, "印章图片尺寸%d×%d不合适（16到4000像素）", cfg.Width, cfg.Height)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, image.Point{}, station.Errorf(station.EINVALID, "印章图片已损坏，无法读取")
	}
	size := img.Bounds().Size()
	// IHDR: bit depth at byte 24, interlace method at byte 28.
	if b[24] == 8 && b[28] == 0 {
		return b, size, nil
	}
	n := image.NewNRGBA(image.Rectangle{Max: size})
	draw.Draw(n, n.Bounds(), img, img.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, n); err != nil {
		return nil, image.Point{}, fmt.Errorf("pdf: re-encode seal: %w", err)
	}
	return buf.Bytes(), size, nil
}

// line is one line of text at a position. x is its left edge and y its baseline.
type line struct {
	text    string
	x, y    float64
	size    float64
	colour  [3]int
	measure float64 // width in points
}

// layout is a certificate measured and placed on the page, ready to draw.
type layout struct {
	c     Certificate
	lines []line
	title line
	mark  *line
	qr    [][]bool
	sealX float64 // centre of the seal
	sealY float64
}

// textErr turns a font error into a message naming the field it came from.
func textErr(field string, err error) error {
	var ng errNoGlyph
	if errors.As(err, &ng) {
		if unicode.IsControl(ng.r) {
			return station.Errorf(station.EINVALID, "%s含有控制字符（%U），无法打印", field, ng.r)
		}
		return station.Errorf(station.EINVALID, "%s中的「%c」（%U）字库中没有，无法打印", field, ng.r, ng.r)
	}
	return fmt.Errorf("pdf: measure %s: %w", field, err)
}

// layOut validates c and places every piece of it.
func layOut(m *metrics, c Certificate) (*layout, error) {
	l := &layout{c: c}
	required := []struct{ name, value string }{
		{"证明标题", c.Title}, {"证明编号", c.Serial}, {"站点名称", c.StationName},
		{"出具单位", c.Issuer}, {"核验码内容", c.QRPayload},
	}
	for _, r := range required {
		if strings.TrimSpace(r.value) == "" {
			return nil, station.Errorf(station.EINVALID, "%s不能为空", r.name)
		}
	}
	if c.IssueDate.IsZero() {
		return nil, station.Errorf(station.EINVALID, "出具日期不能为空")
	}
	if strings.TrimSpace(strings.Join(c.Paragraphs, "")) == "" {
		return nil, station.Errorf(station.EINVALID, "证明正文不能为空")
	}

	// single measures one line of text that must not wrap.
	single := func(field, s string, size float64, colour [3]int) (line, error) {
		s = strings.Join(strings.Fields(s), " ")
		w, err := m.width(s, size)
		if err != nil {
			return line{}, textErr(field, err)
		}
		return line{text: s, size: size, colour: colour, measure: w}, nil
	}

	// Header: station name left, serial right.
	name, err := single("站点名称", c.StationName, headerSize, black)
	if err != nil {
		return nil, err
	}
	serial, err := single("证明编号", "编号："+c.Serial, headerSize, black)
	if err != nil {
		return nil, err
	}
	if name.measure+serial.measure+24 > textW {
		return nil, station.Errorf(station.EINVALID, "站点名称和证明编号太长，页眉一行放不下")
	}
	name.x, name.y = marginX, headerBaseline
	serial.x, serial.y = pageW-marginX-serial.measure, headerBaseline
	l.lines = append(l.lines, name, serial)

	// Reprint mark: red, framed, at the right end of the title row.
	titleRight := pageW - marginX
	if strings.TrimSpace(c.Mark) != "" {
		mk, err := single("标记", c.Mark, markSize, sealRed)
		if err != nil {
			return nil, err
		}
		if mk.measure > 120 {
			return nil, station.Errorf(station.EINVALID, "标记“%s”过长", mk.text)
		}
		mk.x = pageW - marginX - markPad - mk.measure
		mk.y = titleBaseline - 2
		l.mark = &mk
		titleRight = mk.x - markPad - 12
	}

	// Title: centred, shrunk down to titleMinSize if it is long.
	for size := titleSize; ; size-- {
		t, err := single("证明标题", c.Title, size, black)
		if err != nil {
			return nil, err
		}
		t.x, t.y = (pageW-t.measure)/2, titleBaseline
		if t.x >= marginX && t.x+t.measure <= titleRight {
			l.title = t
			break
		}
		if size <= titleMinSize {
			return nil, station.Errorf(station.EINVALID, "证明标题过长，一行放不下")
		}
	}

	// Body: paragraphs, then fields, from bodyTop down. The first line of each is indented.
	type bodyLine struct {
		text   string
		indent float64
	}
	indent := 2 * bodySize
	var body []bodyLine
	addBlock := func(field, text string) error {
		ls, err := m.wrap(text, bodySize, indent, textW)
		if err != nil {
			return textErr(field, err)
		}
		for j, s := range ls {
			bl := bodyLine{text: s}
			if j == 0 {
				bl.indent = indent
			}
			body = append(body, bl)
		}
		return nil
	}
	for i, p := range c.Paragraphs {
		if err := addBlock(fmt.Sprintf("正文第%d段", i+1), p); err != nil {
			return nil, err
		}
	}
	for _, f := range c.Fields {
		label := strings.TrimSpace(f.Label)
		if err := addBlock("“"+label+"”一栏", label+"："+strings.TrimSpace(f.Value)); err != nil {
			return nil, err
		}
	}
	maxLines := int(math.Floor((bodyBottom-bodyTop)/bodyLeading)) + 1
	if len(body) > maxLines {
		return nil, station.Errorf(station.EINVALID, "证明正文过长：排版后共%d行，一页最多%d行，请精简内容", len(body), maxLines)
	}
	for i, bl := range body {
		w, err := m.width(bl.text, bodySize)
		if err != nil {
			return nil, textErr("正文", err)
		}
		l.lines = append(l.lines, line{text: bl.text, x: marginX + bl.indent, y: bodyTop + float64(i)*bodyLeading, size: bodySize, colour: black, measure: w})
	}

	// Issuer and date, bottom right; the date centred under the issuer; the seal over both.
	issuer, err := single("出具单位", c.Issuer, signSize, black)
	if err != nil {
		return nil, err
	}
	minLeft := qrX + qrSize + 24
	if issuerRight-issuer.measure < minLeft {
		return nil, station.Errorf(station.EINVALID, "出具单位名称过长，一行放不下")
	}
	issuer.x, issuer.y = issuerRight-issuer.measure, issuerBaseline
	centre := issuer.x + issuer.measure/2
	date, err := single("出具日期", fmt.Sprintf("%d年%d月%d日", c.IssueDate.Year, c.IssueDate.Month, c.IssueDate.Day), signSize, black)
	if err != nil {
		return nil, err
	}
	date.x, date.y = centre-date.measure/2, dateBaseline
	l.lines = append(l.lines, issuer, date)
	r := sealDiameter / 2
	l.sealX = min(max(centre, minLeft+r), pageW-borderInner-4-r)
	l.sealY = issuerBaseline - 6

	// QR code and its caption, bottom left.
	if len(c.QRPayload) > MaxQRPayload {
		return nil, station.Errorf(station.EINVALID, "核验码内容过长（%d字节，最多%d字节）", len(c.QRPayload), MaxQRPayload)
	}
	q, err := qrcode.New(c.QRPayload, qrcode.Medium)
	if err != nil {
		return nil, station.Errorf(station.EINVALID, "核验码内容无法编码为二维码")
	}
	q.DisableBorder = true
	l.qr = q.Bitmap()
	caption := c.QRCaption
	if strings.TrimSpace(caption) == "" {
		caption = "扫码核验"
	}
	capLine, err := single("二维码说明", caption, captionSize, black)
	if err != nil {
		return nil, err
	}
	if capLine.measure > qrSize+40 {
		return nil, station.Errorf(station.EINVALID, "二维码说明过长")
	}
	capLine.x, capLine.y = qrX+(qrSize-capLine.measure)/2, qrY+qrSize+14
	l.lines = append(l.lines, capLine)

	// Footer lines, small, at the bottom.
	var footer []string
	for _, f := range c.Footer {
		if strings.TrimSpace(f) == "" {
			continue
		}
		ls, err := m.wrap(f, footerSize, 0, textW)
		if err != nil {
			return nil, textErr("页脚", err)
		}
		footer = append(footer, ls...)
	}
	if len(footer) > footerLines {
		return nil, station.Errorf(station.EINVALID, "页脚内容过长：排版后共%d行，最多%d行", len(footer), footerLines)
	}
	for i, s := range footer {
		w, err := m.width(s, footerSize)
		if err != nil {
			return nil, textErr("页脚", err)
		}
		l.lines = append(l.lines, line{text: s, x: marginX, y: footerTop + float64(i)*footerLeading, size: footerSize, colour: black, measure: w})
	}
	return l, nil
}

// draw writes the laid-out certificate as a PDF.
func (l *layout) draw(m *metrics, seal []byte, sealPx image.Point) ([]byte, error) {
	d := time.Date(l.c.IssueDate.Year, l.c.IssueDate.Month, l.c.IssueDate.Day, 0, 0, 0, 0, station.ChinaTime)
	doc := fpdf.New("P", "pt", "A4", "")
	doc.SetCatalogSort(true) // deterministic object order
	doc.SetCreationDate(d)
	doc.SetModificationDate(d)
	doc.SetProducer("Station", false)
	doc.SetTitle(l.title.text, true)
	doc.SetLang("zh-CN")
	doc.SetMargins(0, 0, 0)
	doc.SetAutoPageBreak(false, 0)
	doc.AddUTF8FontFromBytes(m.faces.cjk.family, "", m.faces.cjk.ttf)
	doc.AddUTF8FontFromBytes(m.faces.latin.family, "", m.faces.latin.ttf)
	doc.AddPage()

	// Double frame.
	doc.SetDrawColor(frameGrey[0], frameGrey[1], frameGrey[2])
	doc.SetLineWidth(1.2)
	doc.Rect(borderOuter, borderOuter, pageW-2*borderOuter, pageH-2*borderOuter, "D")
	doc.SetLineWidth(0.4)
	doc.Rect(borderInner, borderInner, pageW-2*borderInner, pageH-2*borderInner, "D")

	lines := append([]line{l.title}, l.lines...)
	if l.mark != nil {
		mk := *l.mark
		lines = append(lines, mk)
		doc.SetDrawColor(sealRed[0], sealRed[1], sealRed[2])
		doc.SetLineWidth(1.2)
		doc.Rect(mk.x-markPad, mk.y-mk.size*0.92-markPad+2, mk.measure+2*markPad, mk.size*1.1+2*markPad, "D")
	}
	for _, ln := range lines {
		if err := l.text(doc, m, ln); err != nil {
			return nil, err
		}
	}

	// QR code as vector modules: sharp at any printer resolution. Runs of dark modules in a row are
	// one rectangle each; a hair of overlap between rows avoids seams when rasterized.
	doc.SetFillColor(0, 0, 0)
	mod := qrSize / float64(len(l.qr))
	for r, row := range l.qr {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < len(row) && row[c] {
				c++
			}
			doc.Rect(qrX+float64(start)*mod, qrY+float64(r)*mod, float64(c-start)*mod, mod+0.05, "F")
		}
	}

	// Seal last, over the issuer and the date, multiplied so the black text shows through the red.
	w := sealDiameter
	h := w * float64(sealPx.Y) / float64(sealPx.X)
	opts := fpdf.ImageOptions{ImageType: "PNG"}
	doc.RegisterImageOptionsReader("seal", opts, bytes.NewReader(seal))
	doc.SetAlpha(0.9, "Multiply")
	doc.ImageOptions("seal", l.sealX-w/2, l.sealY-h/2, w, h, false, opts, 0, "")
	doc.SetAlpha(1, "Normal")

	if err := doc.Error(); err != nil {
		return nil, fmt.Errorf("pdf: render certificate: %w", err)
	}
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdf: write certificate: %w", err)
	}
	return buf.Bytes(), nil
}

// text draws one line, switching fonts between runs of Han and Latin characters.
func (l *layout) text(doc *fpdf.Fpdf, m *metrics, ln line) error {
	runs, err := m.runs(ln.text)
	if err != nil {
		return textErr("文字", err)
	}
	doc.SetTextColor(ln.colour[0], ln.colour[1], ln.colour[2])
	x := ln.x
	for _, r := range runs {
		doc.SetFont(r.face.family, "", ln.size)
		doc.Text(x, ln.y, r.text)
		x += r.width * ln.size
	}
	return nil
}
