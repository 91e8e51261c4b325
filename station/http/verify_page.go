package http

import (
	"bytes"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
)

// verifyPage is the public verification page a phone opens from a certificate's QR code: green for a
// valid certificate, orange for a revoked or voided one, red for anything that is not genuine.
var verifyPage = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>证明核验 · {{.Headline}}</title>
<style>
body { font-family: "Noto Sans CJK SC", "Droid Sans Fallback", sans-serif; margin: 0; background: #f4f5f7; color: #1f2329; }
main { max-width: 36em; margin: 0 auto; padding: 1.5em 1em; }
.banner { border-radius: 12px; padding: 1.2em 1.4em; color: #fff; }
.banner h1 { margin: 0 0 .3em; font-size: 1.8em; }
.banner p { margin: 0; line-height: 1.6; }
.valid { background: #1a7f37; } .ended { background: #c45a00; } .bad { background: #c62828; }
dl { background: #fff; border-radius: 12px; padding: 1em 1.4em; display: grid; grid-template-columns: max-content 1fr; gap: .6em 1em; }
dt { color: #646a73; } dd { margin: 0; word-break: break-all; }
footer { color: #646a73; font-size: .85em; line-height: 1.6; margin-top: 1.5em; }
</style></head>
<body><main>
<section class="banner {{.Class}}" role="status"><h1>{{.Headline}}</h1><p>{{.Message}}</p></section>
{{if .Genuine}}<dl>
<dt>证明类型</dt><dd>{{if .TypeName}}{{.TypeName}}（{{.TypeCode}}）{{else}}{{.TypeCode}}{{end}}</dd>
<dt>证明对象</dt><dd>{{.SubjectName}}　{{.SubjectID}}</dd>
<dt>开具单位</dt><dd>{{if .StationName}}{{.StationName}}{{else}}{{.StationID}}{{end}}</dd>
<dt>开具日期</dt><dd>{{.IssueDate}}</dd>
{{if .ValidUntil}}<dt>有效期至</dt><dd>{{.ValidUntil}}</dd>{{end}}
</dl>{{end}}
<footer>核验依据：证明二维码中的电子签名与本站保存的服务站公钥。姓名和证件号码已部分隐藏。请同时核对证明原件上的内容与本页是否一致。</footer>
</main></body></html>
`))

// verifyPageData is what the page shows.
type verifyPageData struct {
	verifyView
	Headline, Class       string
	IssueDate, ValidUntil string
}

// handleVerifyPage renders the verification page. Whatever the payload, the answer is a page: a
// payload that is not genuine is reported on it, never as an error.
func (s *Server) handleVerifyPage(c *fiber.Ctx) error {
	v, err := s.verify(c)
	if err != nil {
		return err
	}
	d := verifyPageData{verifyView: v}
	switch v.Status {
	case station.VerifyValid:
		d.Headline, d.Class = "真实有效", "valid"
	case station.VerifyRevoked:
		d.Headline, d.Class = "已撤销", "ended"
	case station.VerifyVoided:
		d.Headline, d.Class = "已作废", "ended"
	default:
		d.Headline, d.Class = "无法核验", "bad"
	}
	if v.IssueDate != nil {
		d.IssueDate = cert.FormatDate(*v.IssueDate)
	}
	if v.ValidUntil != nil {
		d.ValidUntil = cert.FormatDate(*v.ValidUntil)
	}
	var b bytes.Buffer
	if err := verifyPage.Execute(&b, d); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(b.Bytes())
}
