package pdf_test

import (
	"bytes"
	"encoding/base64"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/pdf"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-certificate.png")

// payload looks like a signed verification payload: a URL with about 150 bytes of base64url.
func payload() string {
	raw := make([]byte, 112)
	for i := range raw {
		raw[i] = byte(i*37 + 11)
	}
	return "https://verify.example.cn/v/" + base64.RawURLEncoding.EncodeToString(raw)
}

// sample is a realistic residence certificate with every part filled in.
func sample() pdf.Certificate {
	return pdf.Certificate{
		Title: "居住证明",
		Paragraphs: []string{
			"兹证明张三（身份证号码：110101********1234），男，1958年3月出生，自2020年1月起居住于本社区幸福路12号院3号楼2单元501室，至今已满六个月，现实际居住于本社区。",
			"该居民在本社区居住期间遵纪守法，无违法违规记录。此证明仅用于办理老年人优待证，他用无效。",
			"特此证明。",
		},
		Fields:      []pdf.Field{{Label: "联系电话", Value: "138****5678"}},
		Serial:      "ZM-2026-000123",
		IssueDate:   station.Date{Year: 2026, Month: 11, Day: 24},
		StationName: "幸福社区党群服务中心",
		Issuer:      "幸福社区居民委员会（盖章）",
		QRPayload:   payload(),
		Footer:      []string{"本证明有效期至2027年5月24日。", "扫码或访问 https://verify.example.cn 输入编号核验真伪。"},
		Mark:        "补打",
	}
}

// needTool returns the path of an external program. Without it the test is skipped on a developer's
// machine and fails under CI, where .ci/run installs it.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing under CI (apt-get install -y %s)", name, pkg)
		}
		t.Skipf("%s missing: apt-get install -y %s to run this test", name, pkg)
	}
	return p
}

func render(t testing.TB, c pdf.Certificate) []byte {
	t.Helper()
	b, err := pdf.Render(c)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return b
}

// writeTemp writes b to a file in a fresh temporary folder and returns its path.
func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// squeeze removes all white space, which pdftotext puts between lines and wide characters.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

func TestTextExtractsWithPdftotext(t *testing.T) {
	tool := needTool(t, "pdftotext", "poppler-utils")
	c := sample()
	file := writeTemp(t, "cert.pdf", render(t, c))
	out, err := exec.Command(tool, "-layout", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := squeeze(string(out))
	want := map[string]string{
		"title":    c.Title,
		"serial":   "编号：" + c.Serial,
		"station":  c.StationName,
		"issuer":   c.Issuer,
		"date":     "2026年11月24日",
		"mark":     c.Mark,
		"field":    "联系电话：138****5678",
		"caption":  "扫码核验",
		"footer 1": c.Footer[0],
		"footer 2": c.Footer[1],
	}
	for i, p := range c.Paragraphs {
		want["paragraph "+strconv.Itoa(i+1)] = p
	}
	for what, s := range want {
		if !strings.Contains(text, squeeze(s)) {
			t.Errorf("%s %q not in the extracted text:\n%s", what, s, out)
		}
	}
}

func TestQRCodeDecodesFromTheRenderedPage(t *testing.T) {
	tool := needTool(t, "zbarimg", "zbar-tools")
	long := strings.Repeat("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_", 20)[:pdf.MaxQRPayload]
	for _, tc := range []struct {
		name, payload string
		dpi           float64
	}{
		{"a signed verification URL at 300 dpi", payload(), 300},
		{"a signed verification URL at 200 dpi", payload(), 200},
		{"the longest payload allowed at 300 dpi", long, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sample()
			c.QRPayload = tc.payload
			img, err := pdf.Preview(render(t, c), tc.dpi)
			if err != nil {
				t.Fatalf("Preview: %v", err)
			}
			file := writeTemp(t, "page.png", img)
			out, err := exec.Command(tool, "--raw", "-q", file).Output()
			if err != nil {
				t.Fatalf("zbarimg found no code: %v", err)
			}
			if got := strings.TrimSuffix(string(out), "\n"); got != tc.payload {
				t.Errorf("decoded %q, want %q", got, tc.payload)
			}
		})
	}
}

func TestRenderMatchesGolden(t *testing.T) {
	const golden = "testdata/golden-certificate.png"
	const dpi = 50
	b, err := pdf.Preview(render(t, sample()), dpi)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", golden)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestRenderMatchesGolden -update to create it)", err)
	}
	got := decodePNG(t, b)
	exp := decodePNG(t, want)
	d, err := compare(got, exp)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("against %s: mean difference %.4f per channel, max %d, %.3f%% of pixels differ by more than 48", golden, d.mean, d.max, 100*d.changed)
	// The same MuPDF renders the same PDF the same everywhere; the tolerance allows for a different
	// rasterizer build, not for anything moving on the page.
	if d.mean > maxMean || d.changed > maxChanged {
		t.Errorf("render differs from %s: mean %.4f (limit %v), %.3f%% of pixels changed (limit %.3f%%); look at the page and rerun with -update if the change is intended",
			golden, d.mean, maxMean, 100*d.changed, 100*maxChanged)
	}
}

// Tolerances of the golden comparison: the mean absolute difference per channel (0..255), and the
// fraction of pixels where a channel differs by more than 48. Removing the two-character reprint mark
// changes about 0.1% of the pixels, so these let through rasterizer noise, not a change on the page.
const maxMean, maxChanged = 0.05, 0.0002

func decodePNG(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type diff struct {
	mean    float64 // mean absolute difference per channel, 0..255
	max     int     // largest difference of one channel
	changed float64 // fraction of pixels where a channel differs by more than 48
}

func compare(a, b image.Image) (diff, error) {
	if a.Bounds() != b.Bounds() {
		return diff{}, &sizeError{a.Bounds(), b.Bounds()}
	}
	var d diff
	var sum, n, changed int
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			big := false
			for _, p := range [][2]uint32{{ar, br}, {ag, bg}, {ab, bb}} {
				v := int(p[0]>>8) - int(p[1]>>8)
				if v < 0 {
					v = -v
				}
				sum += v
				n++
				d.max = max(d.max, v)
				big = big || v > 48
			}
			if big {
				changed++
			}
		}
	}
	d.mean = float64(sum) / float64(n)
	d.changed = float64(changed) / float64(r.Dx()*r.Dy())
	return d, nil
}

type sizeError struct{ got, want image.Rectangle }

func (e *sizeError) Error() string {
	return "image is " + e.got.Size().String() + ", golden is " + e.want.Size().String()
}

func TestGoldenComparisonSeesAChange(t *testing.T) {
	// The comparison must notice a certificate that differs in one short line.
	a, err := pdf.Preview(render(t, sample()), 50)
	if err != nil {
		t.Fatal(err)
	}
	c := sample()
	c.Mark = ""
	b, err := pdf.Preview(render(t, c), 50)
	if err != nil {
		t.Fatal(err)
	}
	d, err := compare(decodePNG(t, a), decodePNG(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if d.changed <= maxChanged && d.mean <= maxMean {
		t.Errorf("dropping the reprint mark changed %.4f%% of pixels (mean %.4f): under the golden test's tolerance", 100*d.changed, d.mean)
	}
}

// fontFiles returns the length of each embedded TrueType font program (FontFile2 stream).
func fontFiles(t *testing.T, doc []byte) []int {
	t.Helper()
	var sizes []int
	for _, m := range regexp.MustCompile(`/FontFile2 (\d+) 0 R`).FindAllSubmatch(doc, -1) {
		obj := regexp.MustCompile(`(?s)\n` + string(m[1]) + ` 0 obj\s*<<(.*?)>>\s*stream`).FindSubmatch(doc)
		if obj == nil {
			t.Fatalf("FontFile2 object %s not found", m[1])
		}
		l := regexp.MustCompile(`/Length (\d+)`).FindSubmatch(obj[1])
		if l == nil {
			t.Fatalf("FontFile2 object %s has no /Length", m[1])
		}
		n, _ := strconv.Atoi(string(l[1]))
		sizes = append(sizes, n)
	}
	return sizes
}

// fullPage is a certificate whose body nearly fills the page with 385 distinct Han characters: the largest
// font subset a certificate can need.
func fullPage() pdf.Certificate {
	var sb strings.Builder
	for r := rune(0x4e00); sb.Len() < 3*385; r += 7 {
		sb.WriteRune(r)
	}
	c := sample()
	c.Paragraphs = []string{sb.String()}
	c.Fields = nil
	return c
}

func TestSizeAndFontSubset(t *testing.T) {
	for name, c := range map[string]pdf.Certificate{"sample": sample(), "a full page of distinct characters": fullPage()} {
		t.Run(name, func(t *testing.T) {
			doc := render(t, c)
			if len(doc) >= 200<<10 {
				t.Errorf("PDF is %d bytes, want under 200 KB", len(doc))
			}
			fonts := fontFiles(t, doc)
			if len(fonts) != 2 {
				t.Fatalf("%d embedded TrueType fonts, want 2 (Han and Latin)", len(fonts))
			}
			total := 0
			for _, n := range fonts {
				total += n
			}
			if total >= 120<<10 {
				t.Errorf("font programs take %d bytes (%v), want a subset under 120 KB", total, fonts)
			}
			t.Logf("PDF %d bytes, font programs %v bytes", len(doc), fonts)
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	a, b := render(t, sample()), render(t, sample())
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same certificate differ")
	}
	if !bytes.Contains(a, []byte("/CreationDate (D:20261124000000")) {
		t.Error("creation date is not the issue date")
	}
	c := sample()
	c.IssueDate = station.Date{Year: 2026, Month: 11, Day: 25}
	if bytes.Equal(a, render(t, c)) {
		t.Error("a different issue date gave the same bytes")
	}
}

func TestGeneratedSealWhenNoneIsGiven(t *testing.T) {
	seal, err := pdf.Seal("幸福社区居民委员会")
	if err != nil {
		t.Fatal(err)
	}
	c := sample()
	c.Seal = seal
	if !bytes.Equal(render(t, c), render(t, sample())) {
		t.Error("a nil seal did not draw the seal generated from the issuer's name")
	}
	for name, img := range map[string]image.Image{
		"8-bit RGBA":      image.NewNRGBA(image.Rect(0, 0, 100, 100)),
		"16-bit RGBA":     image.NewNRGBA64(image.Rect(0, 0, 100, 120)),
		"8-bit grey":      image.NewGray(image.Rect(0, 0, 64, 64)),
		"a palette image": image.NewPaletted(image.Rect(0, 0, 64, 64), color.Palette{color.White, color.Black}),
	} {
		c.Seal = mustPNG(t, img)
		if bytes.Equal(render(t, c), render(t, sample())) {
			t.Errorf("a configured %s seal image was not used", name)
		}
	}
}

func mustPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// word is one word box from pdftotext -bbox, in points from the top-left corner.
type word struct {
	text                   string
	xMin, yMin, xMax, yMax float64
}

var wordRE = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)

func words(t *testing.T, doc []byte) []word {
	t.Helper()
	tool := needTool(t, "pdftotext", "poppler-utils")
	out, err := exec.Command(tool, "-bbox", writeTemp(t, "cert.pdf", doc), "-").Output()
	if err != nil {
		t.Fatalf("pdftotext -bbox: %v", err)
	}
	var ws []word
	for _, m := range wordRE.FindAllStringSubmatch(string(out), -1) {
		w := word{text: m[5]}
		for i, p := range []*float64{&w.xMin, &w.yMin, &w.xMax, &w.yMax} {
			*p, _ = strconv.ParseFloat(m[i+1], 64)
		}
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		t.Fatalf("no words in:\n%s", out)
	}
	return ws
}

func TestLongParagraphWrapsInsideTheTextArea(t *testing.T) {
	c := sample()
	// About ten lines: a long paragraph with Latin words, numbers and a long URL in it.
	c.Paragraphs = []string{strings.Repeat("该居民自2020年1月起在本社区居住，参加了社区组织的志愿服务活动共计36次，详情见 https://volunteer.example.cn/records/2026/000123 所列记录。", 4)}
	doc := render(t, c)
	const left, right, top, bottom = 72 - 0.5, 595.28 - 72 + 0.5, 28.35, 841.89 - 28.35
	lines := map[float64]bool{}
	for _, w := range words(t, doc) {
		if w.xMin < left || w.xMax > right || w.yMin < top || w.yMax > bottom {
			t.Errorf("word %q at x %.1f–%.1f, y %.1f–%.1f is outside the text area", w.text, w.xMin, w.xMax, w.yMin, w.yMax)
		}
		if strings.Contains(w.text, "该居民") || strings.Contains(w.text, "志愿") {
			lines[w.yMax] = true
		}
	}
	if len(lines) < 4 {
		t.Errorf("the paragraph is on %d lines, want it wrapped over several", len(lines))
	}
}

func TestRefusesBadCertificates(t *testing.T) {
	tooLong := strings.Repeat("兹证明该居民在本社区居住期间遵纪守法，无违法违规记录。", 40)
	seal, err := pdf.Seal("幸福社区")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*pdf.Certificate)
		say    string // part of the message the clerk sees
	}{
		{"an empty title", func(c *pdf.Certificate) { c.Title = "" }, "证明标题不能为空"},
		{"a title of spaces", func(c *pdf.Certificate) { c.Title = " \t " }, "证明标题不能为空"},
		{"a title too long for a line", func(c *pdf.Certificate) { c.Title = strings.Repeat("居住证明", 10) }, "证明标题过长"},
		{"no serial", func(c *pdf.Certificate) { c.Serial = "" }, "证明编号不能为空"},
		{"no issue date", func(c *pdf.Certificate) { c.IssueDate = station.Date{} }, "出具日期不能为空"},
		{"no station name", func(c *pdf.Certificate) { c.StationName = "" }, "站点名称不能为空"},
		{"no issuer", func(c *pdf.Certificate) { c.Issuer = "" }, "出具单位不能为空"},
		{"no body", func(c *pdf.Certificate) { c.Paragraphs = nil }, "证明正文不能为空"},
		{"a body of blank paragraphs", func(c *pdf.Certificate) { c.Paragraphs = []string{"", "  "} }, "证明正文不能为空"},
		{"no QR payload", func(c *pdf.Certificate) { c.QRPayload = "" }, "核验码内容不能为空"},
		{"a QR payload over the limit", func(c *pdf.Certificate) { c.QRPayload = strings.Repeat("x", pdf.MaxQRPayload+1) }, "核验码内容过长"},
		{"a body longer than a page", func(c *pdf.Certificate) { c.Paragraphs = []string{tooLong} }, "一页最多"},
		{"many paragraphs that add up to more than a page", func(c *pdf.Certificate) {
			c.Paragraphs = strings.SplitAfter(tooLong, "。")
		}, "一页最多"},
		{"a character the fonts lack", func(c *pdf.Certificate) { c.Paragraphs = []string{"兹证明😀为本社区居民。"} }, "「😀」"},
		{"a control character", func(c *pdf.Certificate) { c.StationName = "幸福\x07社区" }, "控制字符"},
		{"a seal that is not a PNG", func(c *pdf.Certificate) { c.Seal = []byte("GIF89a......") }, "PNG"},
		{"a seal cut short", func(c *pdf.Certificate) { c.Seal = seal[:len(seal)/2] }, "印章图片已损坏"},
		{"too many footer lines", func(c *pdf.Certificate) {
			c.Footer = strings.Split(strings.Repeat("本证明有效期六个月。\n", 6), "\n")
		}, "页脚内容过长"},
		{"an issuer too long for the signature line", func(c *pdf.Certificate) { c.Issuer = strings.Repeat("幸福社区", 8) + "（盖章）" }, "出具单位名称过长"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sample()
			tc.change(&c)
			b, err := pdf.Render(c)
			if err == nil {
				t.Fatalf("rendered %d bytes, want an error", len(b))
			}
			if code := station.ErrorCode(err); code != station.EINVALID {
				t.Errorf("code %s, want EINVALID (%v)", code, err)
			}
			if msg := station.ErrorMessage(err); !strings.Contains(msg, tc.say) {
				t.Errorf("message %q does not say %q", msg, tc.say)
			}
		})
	}
}

func TestPreview(t *testing.T) {
	b, err := pdf.Preview(render(t, sample()), 100)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// A4 at 100 dpi is 827×1169 pixels.
	if cfg.Width < 825 || cfg.Width > 829 || cfg.Height < 1167 || cfg.Height > 1171 {
		t.Errorf("preview is %d×%d, want about 827×1169", cfg.Width, cfg.Height)
	}
	if _, err := pdf.Preview([]byte("not a pdf"), 100); err == nil {
		t.Error("previewed something that is not a PDF")
	}
}
