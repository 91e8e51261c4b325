package http

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// Scanner turns a document camera's photo into an upright, cropped page image and pages into one PDF;
// devices/scan does it.
type Scanner interface {
	ScanPage(photo []byte) (ScannedPage, error)
	PagesPDF(pages [][]byte) ([]byte, error)
}

// ScannedPage is a processed page.
type ScannedPage struct {
	JPEG     []byte
	Width    int
	Height   int
	Detected bool   // the page's border was found
	Note     string // what staff should check, in Chinese; empty when the page was found cleanly
}

// Blobs is the content-addressed file store; station/blob implements it. Put is durable (fsynced)
// when it returns, so a command may reference the blob right after.
type Blobs interface {
	Put(r io.Reader) (sha256 string, size int64, err error)
	Open(sha256 string) (io.ReadCloser, error)
}

// maxScanPages bounds one scanned material.
const maxScanPages = 30

type scannedPageView struct {
	SHA256   string `json:"sha256"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Bytes    int64  `json:"bytes"`
	Detected bool   `json:"detected"`
	Note     string `json:"note,omitempty"`
}

func (s *Server) scanReady() error {
	if s.devices == nil || s.scanner == nil || s.blobs == nil {
		return station.Errorf(station.EUNAVAILABLE, "本机未配置高拍仪")
	}
	return nil
}

// handleScanPage captures a still from the document camera, turns it into a page image and stores it.
// The page is not part of any application until a material references it.
func (s *Server) handleScanPage(c *fiber.Ctx) error {
	if err := s.scanReady(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 15*time.Second)
	defer cancel()
	f, err := s.devices.Still(ctx)
	if err != nil {
		return deviceError(err)
	}
	page, err := s.scanner.ScanPage(f.JPEG)
	if err != nil {
		return station.Errorf(station.EINVALID, "无法处理这张照片，请重拍：%s", err.Error())
	}
	sha, size, err := s.blobs.Put(bytes.NewReader(page.JPEG))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(scannedPageView{SHA256: sha, Width: page.Width, Height: page.Height,
		Bytes: size, Detected: page.Detected, Note: page.Note})
}

type scanAttachRequest struct {
	Pages []string `json:"pages"` // page blobs in reading order
}

// handleScanAttach makes one PDF of the scanned pages, stores it, and records it as the given material
// of the application (provided, with the PDF's hash) by a command: the PDF is durable before the
// command that references it.
func (s *Server) handleScanAttach(c *fiber.Ctx) error {
	if err := s.scanReady(); err != nil {
		return err
	}
	var req scanAttachRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Pages) == 0 || len(req.Pages) > maxScanPages {
		return station.Errorf(station.EINVALID, "扫描页数应为1至%d页", maxScanPages)
	}
	ctx := c.UserContext()
	id, code := c.Params("id"), c.Params("code")
	app, err := s.store.Application(ctx, id)
	if err != nil {
		return err
	}
	pages := make([][]byte, 0, len(req.Pages))
	for _, sha := range req.Pages {
		b, err := s.readBlob(sha, 8<<20)
		if err != nil {
			return err
		}
		if http.DetectContentType(b) != "image/jpeg" {
			return station.Errorf(station.EINVALID, "扫描页必须是JPEG图像")
		}
		pages = append(pages, b)
	}
	pdf, err := s.scanner.PagesPDF(pages)
	if err != nil {
		return err
	}
	sha, _, err := s.blobs.Put(bytes.NewReader(pdf))
	if err != nil {
		return err
	}
	found := false
	checks := make([]station.MaterialCheck, 0, len(app.Materials))
	for _, m := range app.Materials {
		if m.Code == code {
			m.Provided, m.BlobSHA, found = true, sha, true
		}
		checks = append(checks, station.MaterialCheck{Code: m.Code, Provided: m.Provided, BlobSHA: m.BlobSHA})
	}
	if !found {
		return station.Errorf(station.ENOTFOUND, "该办件没有编码为%s的材料", code)
	}
	cmd := station.ApplicationMaterials{ApplicationID: id, Materials: checks}
	if _, err := s.submit(ctx, station.CmdApplicationMaterials, caller(c).actor(), cmd); err != nil {
		return err
	}
	return s.respondApplication(c, id, fiber.StatusOK)
}

// readBlob reads a whole blob of at most limit bytes.
func (s *Server) readBlob(sha string, limit int64) ([]byte, error) {
	rc, err := s.blobs.Open(sha)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, station.Errorf(station.ETOOLARGE, "文件过大")
	}
	return b, nil
}

// handleBlob serves a scanned page or material to staff. Scanned materials are personal data: the read
// is audited.
func (s *Server) handleBlob(c *fiber.Ctx) error {
	if s.blobs == nil {
		return station.Errorf(station.EUNAVAILABLE, "本机未配置文件存储")
	}
	sha := c.Params("sha")
	b, err := s.readBlob(sha, 64<<20)
	if err != nil {
		return err
	}
	ct := http.DetectContentType(b)
	switch ct {
	case "image/jpeg", "image/png", "application/pdf":
	default:
		return station.Errorf(station.EFORBIDDEN, "不支持查看该类型的文件")
	}
	if err := s.recordAccess(c, "blob:"+sha, "view"); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(b)
}
