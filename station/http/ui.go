package http

import (
	"errors"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// uiPlaceholder is served instead of the UI when the binary was built without it.
const uiPlaceholder = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>社区便民服务站</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.6">
<h1>界面尚未构建</h1>
<p>此程序在构建时没有包含网页界面。请在源代码目录运行 <code>make ui</code> 后重新构建，或使用 <code>make run</code>。</p>
<p>接口仍可使用：<a href="/api/v1/openapi.json">/api/v1/openapi.json</a></p>
</body></html>
`

// registerUI serves the single-page UIs: hashed assets with long cache lifetimes, and index.html for
// every UI path so the client-side router can take over.
func (s *Server) registerUI() {
	s.app.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/kiosk", fiber.StatusFound) })
	s.app.Get("/assets/*", s.handleAsset)
	for _, p := range []string{"/kiosk", "/kiosk/*", "/counter", "/counter/*", "/setup", "/setup/*"} {
		s.app.Get(p, s.handleIndex)
	}
}

func (s *Server) handleIndex(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	if s.ui == nil {
		return c.SendString(uiPlaceholder)
	}
	b, err := fs.ReadFile(s.ui, "index.html")
	if errors.Is(err, fs.ErrNotExist) {
		return c.SendString(uiPlaceholder)
	} else if err != nil {
		return s.writeError(c, err)
	}
	return c.Send(b)
}

func (s *Server) handleAsset(c *fiber.Ctx) error {
	name := path.Clean("assets/" + c.Params("*"))
	if s.ui == nil || !strings.HasPrefix(name, "assets/") || !fs.ValidPath(name) {
		return s.writeError(c, station.Errorf(station.ENOTFOUND, "文件不存在"))
	}
	b, err := fs.ReadFile(s.ui, name)
	if err != nil {
		return s.writeError(c, station.Errorf(station.ENOTFOUND, "文件不存在"))
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		c.Set(fiber.HeaderContentType, ct)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	return c.Send(b)
}
