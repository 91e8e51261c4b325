package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/scan"
	"github.com/civic-station/station/devices/sim/camsim"
	"github.com/civic-station/station/devices/uvc"
)

// devicesListCameras prints the V4L2 cameras found under /dev with their formats and the modes the
// driver would use, for `station devices list`.
func devicesListCameras(stdout io.Writer) {
	infos, err := uvc.List()
	printCameras(stdout, infos, err)
}

// printCameras formats a camera list for the technician.
func printCameras(w io.Writer, infos []uvc.Info, err error) {
	fmt.Fprintln(w, "摄像头（高拍仪）：")
	if err != nil {
		fmt.Fprintf(w, "  无法列出摄像头：%v\n", err)
		return
	}
	if len(infos) == 0 {
		fmt.Fprintln(w, "  未发现摄像头（/dev/video*）。请检查 USB 连接；厂商驱动的高拍仪（本机 WebSocket 服务）暂不支持。")
		return
	}
	for _, in := range infos {
		name := in.Name
		if name == "" {
			name = "未知型号"
		}
		if in.Bus != "" {
			name += "，" + in.Bus
		}
		fmt.Fprintf(w, "  %s  %s\n", in.Path, name)
		if in.Err != "" {
			fmt.Fprintf(w, "      无法打开：%s\n", cameraOpenProblem(in.Err))
			continue
		}
		for _, f := range in.Formats {
			sizes := make([]string, len(f.Sizes))
			for i, s := range f.Sizes {
				sizes[i] = s.String()
			}
			fmt.Fprintf(w, "      %s  %s\n", uvc.FourCCString(f.FourCC), strings.Join(sizes, " "))
		}
		preview, perr := uvc.ChoosePreview(in.Formats, uvc.PreviewMinWidth, uvc.PreviewMaxWidth)
		still, serr := uvc.ChooseStill(in.Formats)
		if perr != nil || serr != nil {
			fmt.Fprintln(w, "      不可用：不支持 MJPEG 或 YUYV 格式")
			continue
		}
		fmt.Fprintf(w, "      将使用：预览 %s，拍照 %s\n", preview, still)
	}
}

// cameraOpenProblem turns a V4L2 open error into advice.
func cameraOpenProblem(msg string) string {
	switch {
	case strings.Contains(msg, "busy"):
		return "设备正被其他程序占用（" + msg + "）"
	case strings.Contains(msg, "permission denied"):
		return "没有权限，请把运行 station 的用户加入 video 组（" + msg + "）"
	}
	return msg
}

// openCamera returns the camera at addr. Each kind of camera is one case here, and the rest of the
// station only sees devices.Camera: a V4L2 device path goes to devices/uvc; a vendor's loopback
// service (ws://127.0.0.1:… or http://127.0.0.1:…) is where a devices/wscam adapter would be wired.
func openCamera(addr string, sim bool) (devices.Camera, error) {
	switch {
	case sim:
		return camsim.New(camsim.Options{Pages: camsim.DefaultPages(1)}), nil
	case strings.HasPrefix(addr, "/dev/"):
		return uvc.New(addr, uvc.Options{}), nil
	case strings.HasPrefix(addr, "ws://"), strings.HasPrefix(addr, "wss://"), strings.HasPrefix(addr, "http://"):
		return nil, fmt.Errorf("暂不支持厂商服务方式的高拍仪（%s）；请使用 V4L2 设备，例如 /dev/video0", addr)
	}
	return nil, fmt.Errorf("无法识别的摄像头地址 %q，应为 /dev/videoN", addr)
}

// cameraFailure says in Chinese why a camera gave no picture and what to do about it.
func cameraFailure(addr string, err error) string {
	switch {
	case errors.Is(err, devices.ErrNotConnected):
		return fmt.Sprintf("未找到高拍仪：%s 不存在或已断开。请检查 USB 连接，或运行 station devices list 查看可用的摄像头", addr)
	case errors.Is(err, devices.ErrTimeout):
		return "高拍仪没有送出画面（超时）。请重新插拔 USB 后重试"
	case errors.Is(err, uvc.ErrNoUsableFormat):
		return "该摄像头不支持 MJPEG 或 YUYV 格式，无法使用"
	case errors.Is(err, syscall.EBUSY):
		return "高拍仪正被其他程序占用，请先关闭占用它的程序（或停止 station 服务）"
	case errors.Is(err, syscall.EACCES):
		return fmt.Sprintf("没有权限打开 %s，请把运行 station 的用户加入 video 组", addr)
	case errors.Is(err, context.DeadlineExceeded):
		return "拍照超时"
	}
	return "拍照失败"
}

// devicesTestCamera runs `station devices test camera [--device /dev/video0] [--sim] --out page.jpg
// [--raw] [--gray]`: it takes a still, turns it into an upright A4 page JPEG (unless --raw), writes it
// to --out and prints the sizes. It returns 0 on success, 1 when no picture could be taken or
// processed, 2 on a usage error.
func devicesTestCamera(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station devices test camera", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("device", "/dev/video0", "摄像头设备")
	sim := fs.Bool("sim", false, "使用模拟高拍仪")
	out := fs.String("out", "", "输出 JPEG 文件")
	raw := fs.Bool("raw", false, "保存原始照片，不裁切矫正")
	gray := fs.Bool("gray", false, "输出灰度页面")
	timeout := fs.Duration("timeout", 20*time.Second, "拍照超时")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "请用 --out 指定输出文件\n"+devicesUsage)
		return 2
	}
	if *sim {
		*addr = "模拟高拍仪"
	}
	cam, err := openCamera(*addr, *sim)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	start := time.Now()
	frame, err := cam.Still(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "%s\n详细信息：%v\n", cameraFailure(*addr, err), err)
		return 1
	}
	st := cam.Status()
	fmt.Fprintf(stdout, "高拍仪 %s（%s）：%s\n", st.Name, st.Detail, stateNames[st.State])
	fmt.Fprintf(stdout, "照片：%d×%d，%s，用时 %.1f 秒\n", frame.Width, frame.Height, cameraBytes(len(frame.JPEG)), time.Since(start).Seconds())
	data := frame.JPEG
	if !*raw {
		start = time.Now()
		page, err := scan.Process(frame.JPEG, scan.Options{Gray: *gray})
		if err != nil {
			fmt.Fprintf(stderr, "照片无法处理成页面：%v\n", err)
			return 1
		}
		kind := "彩色"
		if page.Gray {
			kind = "灰度"
		}
		fmt.Fprintf(stdout, "页面：%d×%d（A4，200 dpi），%s，%s，JPEG 质量 %d，用时 %.1f 秒\n",
			page.Width, page.Height, kind, cameraBytes(len(page.JPEG)), page.Quality, time.Since(start).Seconds())
		if page.Detected {
			c := page.Corners
			fmt.Fprintf(stdout, "已检测到纸张边缘：左上 (%.0f, %.0f)，右上 (%.0f, %.0f)，右下 (%.0f, %.0f)，左下 (%.0f, %.0f)\n",
				c[0].X, c[0].Y, c[1].X, c[1].Y, c[2].X, c[2].Y, c[3].X, c[3].Y)
		} else {
			fmt.Fprintf(stdout, "注意：%s\n", page.Note)
		}
		data = page.JPEG
	}
	if err := os.WriteFile(*out, data, 0o600); err != nil {
		fmt.Fprintf(stderr, "写入 %s 失败：%v\n", *out, err)
		return 1
	}
	fmt.Fprintf(stdout, "已保存到 %s\n", *out)
	return 0
}

// cameraBytes formats a size in KB or MB (1000-based, as people read file sizes).
func cameraBytes(n int) string {
	if n >= 1_000_000 {
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d KB", (n+500)/1000)
}
