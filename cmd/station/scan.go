package main

import (
	"github.com/civic-station/station/devices/scan"
	shttp "github.com/civic-station/station/station/http"
)

// pageScanner adapts devices/scan to what the HTTP layer needs from page processing.
type pageScanner struct{}

var _ shttp.Scanner = pageScanner{}

// ScanPage finds the page in a camera photo and turns it into an upright A4 JPEG of about 300 KB.
func (pageScanner) ScanPage(photo []byte) (shttp.ScannedPage, error) {
	p, err := scan.Process(photo, scan.Options{})
	if err != nil {
		return shttp.ScannedPage{}, err
	}
	return shttp.ScannedPage{JPEG: p.JPEG, Width: p.Width, Height: p.Height, Detected: p.Detected, Note: p.Note}, nil
}

// PagesPDF makes one A4 PDF of page JPEGs, one page each.
func (pageScanner) PagesPDF(pages [][]byte) ([]byte, error) { return scan.PDF(pages) }
