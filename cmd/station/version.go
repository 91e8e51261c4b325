package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/civic-station/station/station/pdf/raster"
	"github.com/civic-station/station/station/sqlite"
)

// pdfRenderer says whether this build renders PDFs, for `station version` and the setup page.
func pdfRenderer() string {
	if raster.Available {
		return "MuPDF"
	}
	return "无（此版本不含 MuPDF：证书预览图和只收图片的 A4 打印机不可用，PDF 打印不受影响）"
}

func versionCommand(stdout io.Writer) int {
	fmt.Fprintf(stdout, "station %s (%s, %s/%s)\n数据库结构版本：%d\nPDF 渲染：%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		sqlite.SchemaVersion(), pdfRenderer())
	return 0
}
