package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/sim/escpossim"
)

// devicesTestTicket prints the setup page's test ticket on the ticket printer at uri
// (`station devices test-ticket URI`) and reports what the printer confirmed. It returns 0 when
// the printer confirmed the ticket, 1 when it did not, 2 when the URI is invalid.
func devicesTestTicket(ctx context.Context, uri string, stdout, stderr io.Writer) int {
	p, err := escpos.Open(uri, escpos.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "打印机地址无效：%v\n地址示例：tcp://192.168.1.50:9100 或 serial:///dev/ttyUSB0?baud=19200（可加 paper=58）\n", err)
		return 2
	}
	host, _ := os.Hostname()
	t := escpos.TestTicket(escpos.Test{Station: host, Printer: uri, Width: p.Width(), PrintedAt: time.Now()})
	if err := p.Print(ctx, t); err != nil {
		fmt.Fprintf(stderr, "测试页打印失败：%s\n详情：%v\n", printFailure(err), err)
		return 1
	}
	st := p.Status(ctx)
	fmt.Fprintf(stdout, "测试页已打印，打印机已确认：在线、有纸、无故障。\n打印机：%s（%s）\n", st.Name, st.Detail)
	if st.State == devices.StatePaperLow {
		fmt.Fprintln(stdout, "提示：纸卷快用完了，请准备换纸。")
	}
	return 0
}

// printFailure says in Chinese why a ticket did not print and what to do about it.
func printFailure(err error) string {
	switch {
	case errors.Is(err, devices.ErrPaperOut):
		return "打印机缺纸，请装纸后重试"
	case errors.Is(err, devices.ErrTimeout):
		return "打印机没有应答（超时），请检查打印机是否开机、地址或波特率是否正确"
	case errors.Is(err, devices.ErrNotConnected):
		return "连不上打印机，请检查电源、网线或串口线，以及地址是否正确"
	case errors.Is(err, escpos.ErrNoFont):
		return "缺少绘制生僻字的字体，请安装：apt-get install -y fonts-droid-fallback"
	case errors.Is(err, devices.ErrNotConfirmed):
		return "打印机未确认打印成功（可能是纸仓盖未合上或打印机故障），此票不算已出"
	}
	return "打印出错"
}

// simulatePrinter runs a simulated ticket printer until ctx ends (`station simulate printer`);
// args are the flags after "printer". Each printed job is written to --out as job-N.txt and job-N.png.
func simulatePrinter(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("simulate printer", flag.ContinueOnError)
	fl.SetOutput(stderr)
	listen := fl.String("listen", "127.0.0.1:9100", "TCP 监听地址（留空则不监听 TCP）")
	ptyLink := fl.String("pty-link", "", "模拟串口打印机：在此路径创建指向伪终端的链接")
	out := fl.String("out", "", "把每张票的 .txt 和 .png 写到这个目录")
	paper := fl.Int("paper", 80, "纸宽（毫米）：58 或 80")
	fonts := fl.String("font", "", "绘制文字用的字体文件，多个用逗号分隔（默认 "+escpossim.DefaultFontPath+"）")
	if err := fl.Parse(args); err != nil {
		return flagExit(err)
	}
	width := map[int]int{58: escpos.Width58, 80: escpos.Width80}[*paper]
	if width == 0 || fl.NArg() > 0 || (*listen == "" && *ptyLink == "") {
		fmt.Fprintln(stderr, "用法：station simulate printer [--listen 127.0.0.1:9100] [--pty-link PATH] [--out DIR] [--paper 58|80]")
		return 2
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintf(stderr, "无法创建输出目录：%v\n", err)
			return 1
		}
	}
	var mu sync.Mutex // OnJob runs on each connection's goroutine
	cfg := escpossim.Config{Width: width, OnJob: func(j *escpossim.Job) {
		mu.Lock()
		defer mu.Unlock()
		if *out == "" {
			fmt.Fprintf(stdout, "已打印第 %d 张：\n%s", j.Seq, j.Text())
			return
		}
		if err := writeJob(*out, j); err != nil {
			fmt.Fprintf(stderr, "写入第 %d 张失败：%v\n", j.Seq, err)
			return
		}
		fmt.Fprintf(stdout, "已打印第 %d 张：%s\n", j.Seq, filepath.Join(*out, fmt.Sprintf("job-%d.png", j.Seq)))
	}}
	if *fonts != "" {
		cfg.FontPaths = strings.Split(*fonts, ",")
	}
	sim, err := escpossim.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "模拟器启动失败：%v\n", err)
		return 1
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			fmt.Fprintf(stderr, "无法监听 %s：%v\n", *listen, err)
			return 1
		}
		mu.Lock()
		fmt.Fprintf(stdout, "票据打印机模拟器已启动：tcp://%s（%d 毫米）\n", ln.Addr(), *paper)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- sim.Serve(ctx, ln)
		}()
	}
	if *ptyLink != "" {
		pty, err := sim.OpenPTY(*ptyLink)
		if err != nil {
			cancel()
			wg.Wait()
			fmt.Fprintf(stderr, "无法创建模拟串口：%v\n", err)
			return 1
		}
		mu.Lock()
		fmt.Fprintf(stdout, "模拟串口打印机已就绪：serial://%s\n", pty.Path())
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pty.Serve(ctx)
		}()
	}
	code := 0
	select {
	case <-ctx.Done():
	case err := <-errs:
		if err != nil {
			fmt.Fprintf(stderr, "模拟器出错：%v\n", err)
			code = 1
		}
	}
	cancel()
	wg.Wait()
	return code
}

// writeJob writes a job's text and image into dir.
func writeJob(dir string, j *escpossim.Job) error {
	base := filepath.Join(dir, fmt.Sprintf("job-%d", j.Seq))
	img, err := j.PNG()
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".png", img, 0o644); err != nil {
		return err
	}
	return os.WriteFile(base+".txt", []byte(j.Text()), 0o644)
}
