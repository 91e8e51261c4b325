package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/idcard"
	"github.com/civic-station/station/devices/ipp"
)

const devicesUsage = `用法：
  station devices list [--ticket-printer URI] [--document-printer URI]   列出读卡器、摄像头和打印机状态
  station devices test idreader --port PATH [--baud N] [--json] [--reveal]
  station devices test printer --ticket|--page --uri URI        URI：tcp://HOST:9100、serial:///dev/ttyUSB0、ipp://HOST/…
  station devices test camera [--device /dev/video0] --out page.jpg
  station devices pin idreader|ticket-printer /dev/ttyUSB0    按所插 USB 口固定设备名（/dev/station-idreader 等）
`

const simulateUsage = `用法：
  station simulate idreader --link PATH [--baud N] [--cards FILE]   在伪终端上模拟身份证读卡器
  station simulate idreader --control PATH --place FILE|--remove      放卡/取卡
  station simulate printer --listen 127.0.0.1:9100 [--pty-link PATH] [--out DIR]
  station simulate ipp --listen 127.0.0.1:8631 [--out DIR] [--formats image/jpeg]
`

// devicesCommand runs `station devices …`, the technician's hardware checks.
func devicesCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case isHelp(args), len(args) == 2 && args[0] == "test" && isHelp(args[1:]):
		fmt.Fprint(stdout, devicesUsage)
		return 0
	case len(args) >= 1 && args[0] == "list":
		return devicesList(ctx, args[1:], stdout, stderr)
	case len(args) >= 1 && args[0] == "pin":
		return devicesPin(args[1:], stdout, stderr)
	case len(args) >= 2 && args[0] == "test":
		switch args[1] {
		case "idreader":
			return devicesTestIDReader(ctx, args[2:], stdout, stderr)
		case "printer":
			return devicesTestPrinter(ctx, args[2:], stdout, stderr)
		case "camera":
			return devicesTestCamera(ctx, args[2:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, devicesUsage)
	return 2
}

// devicesTestPrinter prints a test ticket (ESC/POS) or a test page (IPP) and waits for the printer to
// confirm it.
func devicesTestPrinter(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station devices test printer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ticket := fs.Bool("ticket", false, "打印测试小票（ESC/POS）")
	page := fs.Bool("page", false, "打印测试页（IPP）")
	uri := fs.String("uri", "", "打印机地址")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	switch {
	case *uri == "" || *ticket == *page:
		fmt.Fprint(stderr, "请指定 --ticket 或 --page 之一，以及 --uri\n"+devicesUsage)
		return 2
	case *ticket:
		return devicesTestTicket(ctx, *uri, stdout, stderr)
	}
	return devicesTestPage(ctx, *uri, stdout, stderr)
}

// simulateCommand runs `station simulate …`: device simulators that speak the real protocols.
func simulateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if isHelp(args) {
		fmt.Fprint(stdout, simulateUsage)
		return 0
	}
	if len(args) >= 1 {
		switch args[0] {
		case "idreader":
			return simulateIDReader(ctx, args[1:], stdout, stderr)
		case "printer":
			return simulatePrinter(ctx, args[1:], stdout, stderr)
		case "ipp":
			return simulateIPP(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, simulateUsage)
	return 2
}

// devicesList prints the serial ports with a SAM reader answering on them (and at which speed), the
// V4L2 cameras, and the state of the printers the station is configured with (the same URIs as
// `station run` takes).
func devicesList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station devices list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ticket := fs.String("ticket-printer", "", "小票打印机（tcp://HOST:9100 或 serial:///dev/ttyUSB0）")
	document := fs.String("document-printer", "", "A4打印机（ipp://HOST/…）")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	fmt.Fprintln(stdout, "身份证读卡器（串口）：")
	found := 0
	for _, port := range idcard.DefaultCandidates {
		if _, err := os.Stat(port); err != nil {
			continue
		}
		r := idcard.New(idcard.Config{Port: port})
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		sam, err := r.SAMID(pctx)
		cancel()
		st := r.Status()
		r.Close()
		if err != nil {
			fmt.Fprintf(stdout, "  %-14s 无读卡器应答\n", port)
			continue
		}
		found++
		fmt.Fprintf(stdout, "  %-14s SAM %s，%s\n", port, sam, st.Detail)
	}
	if found == 0 {
		fmt.Fprintln(stdout, "  未发现读卡器")
	}
	devicesListCameras(stdout)
	fmt.Fprintln(stdout, "打印机：")
	if *ticket == "" && *document == "" {
		fmt.Fprintln(stdout, "  未指定（用 --ticket-printer 和 --document-printer 给出 station run 使用的地址）")
		return 0
	}
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if *ticket != "" {
		p, err := escpos.Open(*ticket, escpos.Options{})
		if err != nil {
			fmt.Fprintf(stdout, "  小票打印机 %s：地址无效（%v）\n", *ticket, err)
		} else {
			printStatus(stdout, "小票打印机", *ticket, p.Status(qctx))
		}
	}
	if *document != "" {
		p, err := ipp.New(*document, documentPrinterOptions())
		if err != nil {
			fmt.Fprintf(stdout, "  A4打印机 %s：地址无效（%v）\n", *document, err)
		} else {
			printStatus(stdout, "A4打印机", *document, p.Status(qctx))
		}
	}
	return 0
}

// stateLabels are the device states in Chinese.
var stateLabels = map[devices.State]string{
	devices.StateDisconnected: "未连接", devices.StateReady: "就绪", devices.StateBusy: "忙碌",
	devices.StatePaperOut: "缺纸", devices.StatePaperLow: "纸将用尽", devices.StateError: "故障",
}

func printStatus(w io.Writer, what, uri string, st devices.Status) {
	fmt.Fprintf(w, "  %s %s：%s", what, uri, stateLabels[st.State])
	if st.LastError != "" {
		fmt.Fprintf(w, "（%s）", st.LastError)
	}
	fmt.Fprintln(w)
}
