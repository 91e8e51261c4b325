//go:build !nomupdf && cgo

package raster

// The C file beside this one provides the two glibc 2.38 symbols that go-fitz's arm64 MuPDF needs, so
// the binary links against the glibc of Debian 12 and the Chinese distributions built on it.

import "C"
