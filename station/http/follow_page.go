package http

import (
	"bytes"
	"errors"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// followRefresh is how often, in seconds, the follow page reloads itself.
const followRefresh = 20

// followPage is the page a resident's phone opens from the QR code on a ticket's slip: the number,
// its status and the people ahead, nothing else, reloading itself.
var followPage = template.Must(template.New("follow").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>排队进度{{if .Number}} · {{.Number}}{{end}}</title>
<style>
body { font-family: "Noto Sans CJK SC", "Droid Sans Fallback", sans-serif; margin: 0; background: #f4f5f7; color: #1f2329; }
main { max-width: 30em; margin: 0 auto; padding: 1.5em 1em; text-align: center; }
.card { background: #fff; border-radius: 12px; padding: 1.5em 1em; }
.number { font-size: 3.5em; font-weight: bold; margin: .1em 0; letter-spacing: .05em; }
.status { font-size: 1.4em; margin: .3em 0; } .ahead { font-size: 1.2em; color: #1a7f37; }
footer { color: #646a73; font-size: .85em; line-height: 1.6; margin-top: 1.5em; }
</style></head>
<body><main>
{{if .Number}}<section class="card" role="status"><div>您的号码</div><div class="number">{{.Number}}</div>
<div class="status">{{.StatusLabel}}</div>
{{if .Waiting}}<div class="ahead">前面还有 {{.Ahead}} 人等候</div>{{end}}</section>
<footer>{{if .Refresh}}本页每 {{.Refresh}} 秒自动刷新。{{end}}请留意等候区的叫号，过号请重新取号。</footer>
{{else}}<section class="card" role="status"><div class="status">没有这个号码</div></section>
<footer>请核对取号单上的二维码，或向工作人员询问。</footer>{{end}}
</main></body></html>
`))

// followPageData is what the page shows.
type followPageData struct {
	followView
	Waiting bool
	Refresh int
}

// handleFollowPage renders the follow page of the ticket in the path; an unknown ticket is a page
// saying so, with status 404.
func (s *Server) handleFollowPage(c *fiber.Ctx) error {
	v, err := s.ticket(c, c.Params("id"))
	var d followPageData
	var se *station.Error
	switch {
	case err == nil:
		d = followPageData{followView: followView{Number: v.Ticket.Number, Status: v.Ticket.Status, StatusLabel: v.StatusLabel,
			Ahead: v.Ahead}, Waiting: v.Ticket.Status == station.TicketWaiting}
		if !v.Ticket.Status.Final() {
			d.Refresh = followRefresh
		}
	case errors.As(err, &se) && se.Code == station.ENOTFOUND:
		c.Status(fiber.StatusNotFound)
	default:
		return err
	}
	var b bytes.Buffer
	if err := followPage.Execute(&b, d); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(b.Bytes())
}
