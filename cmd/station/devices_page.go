package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/ipp"
	"github.com/civic-station/station/devices/sim/ippsim"
	"github.com/civic-station/station/station/pdf/raster"
)

// documentPrinterOptions are the IPP driver's options wherever the station talks to its A4 printer:
// MuPDF rasterizes the pages for a printer that takes JPEG but not PDF.
func documentPrinterOptions() ipp.Options {
	return ipp.Options{Rasterize: raster.PagesJPEG}
}

// stateNames are the Chinese names of device states, as a technician reads them.
var stateNames = map[devices.State]string{
	devices.StateDisconnected: "未连接",
	devices.StateReady:        "就绪",
	devices.StateBusy:         "忙碌",
	devices.StatePaperOut:     "缺纸",
	devices.StatePaperLow:     "纸张将用完",
	devices.StateError:        "故障",
}

// devicesTestPage prints a generated one-page test PDF on the IPP printer at uri and waits for the
// printer to confirm it. It returns 0 when the printer reports the job completed, 1 when it did not
// print, 2 when uri is unusable.
func devicesTestPage(ctx context.Context, uri string, stdout, stderr io.Writer) int {
	if uri == "" {
		fmt.Fprint(stderr, "请指定打印机地址，例如 ipp://192.168.1.20/ipp/print\n")
		return 2
	}
	p, err := ipp.New(uri, documentPrinterOptions())
	if err != nil {
		fmt.Fprintf(stderr, "打印机地址无效：%v\n", err)
		return 2
	}
	st := p.Status(ctx)
	fmt.Fprintf(stdout, "打印机 %s：%s", st.Name, stateNames[st.State])
	if st.LastError != "" {
		fmt.Fprintf(stdout, "（%s）", st.LastError)
	}
	fmt.Fprintln(stdout)

	host, _ := os.Hostname()
	pdf := ipp.TestPage(time.Now(), "Printer: "+uri, "Host: "+host)
	fmt.Fprintln(stdout, "正在打印测试页，等待打印机确认……")
	if err := p.PrintPDF(ctx, "Station test page", pdf); err != nil {
		fmt.Fprintf(stderr, "测试页未打印：%s\n详细信息：%v\n", ipp.Explain(err), err)
		return 1
	}
	fmt.Fprintln(stdout, "测试页已打印完成（打印机已确认）。")
	return 0
}

// simulateIPP runs `station simulate ipp [--listen HOST:PORT] [--out DIR] [--delay D]`: a simulated IPP
// printer that keeps every document it receives, until ctx ends.
func simulateIPP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station simulate ipp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8631", "监听地址 HOST:PORT")
	out := fs.String("out", "", "收到的文件保存到此目录（job-N.pdf，JPEG 为 job-N.jpg）")
	formats := fs.String("formats", "", "声明支持的文件格式，逗号分隔，如 image/jpeg 模拟不支持PDF的打印机；默认 application/pdf")
	delay := fs.Duration("delay", 2*time.Second, "每个作业从提交到完成所用的时间")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数：%v\n", fs.Args())
		return 2
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintf(stderr, "无法创建输出目录：%v\n", err)
			return 1
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := ippsim.Config{JobDelay: *delay, OutDir: *out, Logger: logger}
	if *formats != "" {
		cfg.DocumentFormats = strings.Split(*formats, ",")
	}
	sim := ippsim.New(cfg)
	srv, err := sim.Listen(*listen)
	if err != nil {
		fmt.Fprintf(stderr, "无法启动模拟打印机：%v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "IPP 模拟打印机已启动：%s\n", srv.URI())
	if *out != "" {
		fmt.Fprintf(stdout, "收到的文件保存在 %s\n", *out)
	}
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintf(stderr, "停止模拟打印机：%v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "模拟打印机已停止，共收到 %d 份文件。\n", len(sim.Documents()))
	return 0
}
