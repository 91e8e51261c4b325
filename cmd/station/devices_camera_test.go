package main

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civic-station/station/devices/uvc"
)

func TestDevicesTestCamera(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		noOut      bool
		code       int
		w, h       int
		wantOut    string
		wantStderr string
	}{
		{"a simulated still becomes an upright A4 page", []string{"--sim"}, false, 0, 1654, 2339, "已检测到纸张边缘", ""},
		{"a simulated still kept raw is the full camera frame", []string{"--sim", "--raw"}, false, 0, 2592, 1944, "照片：2592×1944", ""},
		{"a missing camera is reported in Chinese", []string{"--device", "/dev/video-station-test-none"}, false, 1, 0, 0, "", "未找到高拍仪"},
		{"a vendor loopback address is not supported yet", []string{"--device", "ws://127.0.0.1:9000"}, false, 2, 0, 0, "", "暂不支持"},
		{"no output file is a usage error", nil, true, 2, 0, 0, "", "--out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "page.jpg")
			args := tt.args
			if !tt.noOut {
				args = append(args, "--out", out)
			}
			var stdout, stderr bytes.Buffer
			code := devicesTestCamera(context.Background(), args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stdout %q\nstderr %q\nwant %q / %q", &stdout, &stderr, tt.wantOut, tt.wantStderr)
			}
			if tt.code != 0 {
				if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("output written on failure: %v", err)
				}
				return
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil || cfg.Width != tt.w || cfg.Height != tt.h {
				t.Errorf("output %d×%d (%v), want %d×%d", cfg.Width, cfg.Height, err, tt.w, tt.h)
			}
			if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
				t.Errorf("output mode %v, want 0600 (scans are personal data)", fi.Mode().Perm())
			}
		})
	}
}

func TestPrintCameras(t *testing.T) {
	one := func(w int) []uvc.SizeRange {
		return []uvc.SizeRange{{MinWidth: w, MaxWidth: w, MinHeight: w * 3 / 4, MaxHeight: w * 3 / 4}}
	}
	tests := []struct {
		name  string
		infos []uvc.Info
		err   error
		want  string
	}{
		{"no camera says so and what to check", nil, nil,
			"摄像头（高拍仪）：\n  未发现摄像头（/dev/video*）。请检查 USB 连接；厂商驱动的高拍仪（本机 WebSocket 服务）暂不支持。\n"},
		{"a document camera lists its formats and the modes the driver will use", []uvc.Info{{
			Path: "/dev/video0", Name: "USB Document Camera", Bus: "usb-0000:00:14.0-2",
			Formats: []uvc.Format{
				{FourCC: uvc.FormatMJPEG, Sizes: append(one(640), append(one(1280), one(2592)...)...)},
				{FourCC: uvc.FormatYUYV, Sizes: one(640)},
			},
		}}, nil,
			"摄像头（高拍仪）：\n  /dev/video0  USB Document Camera，usb-0000:00:14.0-2\n" +
				"      MJPG  640×480 1280×960 2592×1944\n      YUYV  640×480\n" +
				"      将使用：预览 MJPG 1280×960，拍照 MJPG 2592×1944\n"},
		{"a busy camera is shown with advice", []uvc.Info{{Path: "/dev/video2", Err: "device or resource busy"}}, nil,
			"摄像头（高拍仪）：\n  /dev/video2  未知型号\n      无法打开：设备正被其他程序占用（device or resource busy）\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printCameras(&b, tt.infos, tt.err)
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestDevicesListCamerasRunsWithoutACamera(t *testing.T) {
	var b bytes.Buffer
	devicesListCameras(&b)
	if !strings.HasPrefix(b.String(), "摄像头（高拍仪）：\n") {
		t.Errorf("output %q", b.String())
	}
}
