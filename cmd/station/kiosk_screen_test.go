//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	kioskui "github.com/civic-station/station/kiosk-ui"
)

// The kiosk screen for real, on a display that is not there: cage on wlroots' headless backend
// with the pixman renderer (no GPU, no /dev/dri), running the command line `station kiosk run`
// builds from station.toml, Chromium inside it on a demo station, and grim taking the screen
// through wlroots' screencopy protocol.
//
// What this machine's Debian 12 packages (cage 0.1.4 on wlroots 0.15) need, found running them:
//   - cage refuses to start as root ("Unable to drop root"), so as root the test runs it, and so
//     Chromium, as nobody, as the unit runs it as station-kiosk; Chromium's own sandbox then works
//     and --no-sandbox is never added.
//   - cage aborts without /usr/bin/Xwayland ("Cannot create XWayland server"), and the cage
//     package neither depends on nor recommends xwayland.
//   - at rotation 0 cage scans Chromium's full-screen buffer out directly, and wlroots 0.15's
//     screencopy then copies a stale frame (Chromium's first, 500×46 window). A screen recorder's
//     pending copy locks direct scan-out off; recordScreen keeps one pending, so every frame is
//     composited and grim sees what a monitor would.

// kioskScreenTools returns cage, grim and Chromium, or skips (fails under CI, where .ci/run
// installs them).
func kioskScreenTools(t *testing.T) (cage, grim, chromium string) {
	t.Helper()
	cage = needTool(t, "cage", "cage xwayland")
	grim = needTool(t, "grim", "grim")
	needTool(t, "Xwayland", "xwayland")
	chromium = chromiumPath()
	if chromium == "" {
		chromium = needTool(t, "chromium", "chromium")
	}
	return cage, grim, chromium
}

// kioskScreenUI is the built kiosk UI the station serves: the embedded one (-tags ui), else
// kiosk-ui/dist from `make ui`; nil when neither is there, and the station serves its placeholder.
func kioskScreenUI() fs.FS {
	if ui, ok := kioskui.Dist(); ok {
		return ui
	}
	if _, err := os.Stat("../../kiosk-ui/dist/index.html"); err == nil {
		return os.DirFS("../../kiosk-ui/dist")
	}
	return nil
}

// The kiosk theme's colours (kiosk-ui/src/kiosk/kiosk.css): the page background and the header.
var (
	kioskBackground = color.RGBA{0xf2, 0xf4, 0xf7, 0xff} // --k-bg
	kioskPrimary    = color.RGBA{0x0b, 0x4f, 0x9c, 0xff} // --k-primary
	white           = color.RGBA{0xff, 0xff, 0xff, 0xff}
	black           = color.RGBA{0, 0, 0, 0xff} // the placeholder page's text; Chromium's error page has none
)

// TestTheKioskScreenUnderCage: `station kiosk run`'s command line for kiosk-rotation 0 and 90,
// run under headless cage against a demo station, shows the kiosk's home screen full screen,
// rotated for 90; and a kiosk-url nothing answers shows a screen that is not it.
func TestTheKioskScreenUnderCage(t *testing.T) {
	cage, grim, chromium := kioskScreenTools(t)
	start := time.Now()
	ui := kioskScreenUI()
	if ui == nil {
		t.Log("the kiosk UI is not built (make ui): the station serves its placeholder page, and the test checks the screen shows that")
	}
	served := &servedFS{fs: ui}
	st := startStationIn(t, t.TempDir(), func(m *Main) { m.UI = served })
	t.Logf("station up at %s in %v", st.URL(), time.Since(start).Round(time.Millisecond))

	var kioskShots [][]byte
	for _, rotation := range []int{0, 90} {
		t.Run(fmt.Sprintf("rotation%d", rotation), func(t *testing.T) {
			began := time.Now()
			plan := kioskPlanFromConfig(t, fmt.Sprintf("kiosk-url = %q\nkiosk-rotation = \"%d\"\n", st.URL()+"/kiosk", rotation))
			var wait strings.Builder
			waitForStation(context.Background(), plan.URL, &wait)
			if wait.Len() != 0 {
				t.Fatalf("waitForStation: %s", wait.String())
			}
			pages := served.fetches()
			screen := startKioskScreen(t, cage, kioskArgv(plan, chromium))
			deadline := time.Now().Add(30 * time.Second)
			for served.fetches() <= pages {
				if time.Now().After(deadline) || screen.exited() {
					t.Fatalf("the browser did not fetch the kiosk page and its script (cage exited: %v); cage's output:\n%s", screen.exited(), screen.out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			fetched := time.Since(began)
			wantW, wantH := 1280, 720 // the headless output's mode
			if rotation == 90 || rotation == 270 {
				wantW, wantH = wantH, wantW
			}
			shot, img, stats := screen.waitFor(t, grim, deadline, func(img image.Image, s shotStats) bool {
				if ui == nil {
					return s.share(white) > 0.8 && s.share(black) > 0.002
				}
				return s.share(kioskBackground) > 0.2 && s.share(kioskPrimary) > 0.03
			})
			saveShot(t, fmt.Sprintf("kiosk-rotation%d.png", rotation), shot)
			t.Logf("rotation %d: page fetched after %v, screen as expected after %v: %v", rotation,
				fetched.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), stats)
			if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Errorf("screenshot is %d×%d, want %d×%d", b.Dx(), b.Dy(), wantW, wantH)
			}
			if stats.colours < 20 || stats.top.share > 0.99 {
				t.Errorf("the screen is (nearly) one colour: %v", stats)
			}
			if ui != nil {
				if s := stats.share(kioskBackground); s < 0.2 {
					t.Errorf("the kiosk background #f2f4f7 covers %.1f%% of the screen, want at least 20%%: %v", 100*s, stats)
				}
				if s := stats.share(kioskPrimary); s < 0.03 {
					t.Errorf("the kiosk header #0b4f9c covers %.1f%% of the screen, want at least 3%%: %v", 100*s, stats)
				}
			} else if stats.share(white) < 0.8 || stats.share(black) < 0.002 {
				t.Errorf("not the placeholder page's black text on white: %v", stats)
			}
			if !screen.fullScreen(img) {
				t.Errorf("the page does not fill the screen: its bottom-right corner is the compositor's black")
			}
			if n := translateBubble(img); n > 0 {
				// Not an error yet: --disable-features=Translate does not stop it in Chromium 156; the
				// TranslateEnabled=false policy (/etc/chromium/policies/managed/*.json) does.
				t.Logf("Chromium's translate bubble is on the screen (%d px of its #1f1f1f at the top)", n)
			}
			if rotation == 0 {
				kioskShots = append(kioskShots, shot)
			}
		})
	}

	// A kiosk-url nothing answers: Chromium's error page, which the checks above must tell apart.
	t.Run("error page", func(t *testing.T) {
		began := time.Now()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + ln.Addr().String() + "/kiosk"
		ln.Close()
		plan := kioskPlanFromConfig(t, fmt.Sprintf("kiosk-url = %q\n", closed))
		screen := startKioskScreen(t, cage, kioskArgv(plan, chromium))
		shot, img, stats := screen.waitFor(t, grim, time.Now().Add(30*time.Second), func(img image.Image, s shotStats) bool {
			return s.colours > 20
		})
		saveShot(t, "kiosk-error-page.png", shot)
		t.Logf("error page after %v: %v", time.Since(began).Round(time.Millisecond), stats)
		if stats.share(kioskBackground) > 0.01 || stats.share(kioskPrimary) > 0.01 || stats.share(black) > 0.002 {
			t.Errorf("the error page has the kiosk's colours or the placeholder's black: %v", stats)
		}
		for _, k := range kioskShots {
			kimg, err := png.Decode(bytes.NewReader(k))
			if err != nil {
				t.Fatal(err)
			}
			d := differingShare(kimg, img)
			t.Logf("the kiosk screen (rotation 0) and the error page differ in %.1f%% of the pixels", 100*d)
			if d < 0.01 {
				t.Errorf("the kiosk screen and the error page differ in %.2f%% of the pixels only", 100*d)
			}
		}
	})
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

// kioskPlanFromConfig reads the kiosk settings from a station.toml as `station kiosk run` does.
func kioskPlanFromConfig(t *testing.T, toml string) kioskPlan {
	t.Helper()
	m := NewMain()
	var errb bytes.Buffer
	fset := runFlags(m, &errb)
	apply := configFlag(fset, func(string) (string, bool) { return "", false })
	if err := fset.Parse([]string{"--config", writeConfig(t, toml)}); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	if _, _, err := apply(); err != nil {
		t.Fatalf("config: %v", err)
	}
	return m.Kiosk
}

// servedFS is the station's UI, counting what the browser fetched: index.html (every kiosk page is
// it) and the assets. Without a built UI it has no index.html and the station serves its placeholder.
type servedFS struct {
	fs            fs.FS
	mu            sync.Mutex
	index, assets int
}

func (s *servedFS) Open(name string) (fs.File, error) {
	s.mu.Lock()
	switch {
	case name == "index.html":
		s.index++
	case strings.HasPrefix(name, "assets/"):
		s.assets++
	}
	s.mu.Unlock()
	if s.fs == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return s.fs.Open(name)
}

// fetches is how many times the kiosk page has been fetched with its script (the page alone for the
// placeholder).
func (s *servedFS) fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fs == nil {
		return s.index
	}
	return min(s.index, s.assets)
}

// kioskScreen is cage running the kiosk's command line on a headless output.
type kioskScreen struct {
	runtime string // XDG_RUNTIME_DIR, where cage's socket is
	display string // the socket's name: WAYLAND_DISPLAY
	cmd     *exec.Cmd
	out     lockedBuffer
	done    chan struct{}
}

func (s *kioskScreen) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// startKioskScreen runs argv (cage …) with wlroots' headless backend, in a private runtime
// directory; as root, as nobody. Chromium gets a profile of its own in that directory (the kiosk's
// is under /var/lib/station-kiosk): the only flag the test adds, after the kiosk's own.
func startKioskScreen(t *testing.T, cage string, argv []string) *kioskScreen {
	t.Helper()
	if argv[0] != "cage" {
		t.Fatalf("the kiosk command is not cage: %q", argv)
	}
	dir, err := os.MkdirTemp("", "station-kiosk-screen-")
	if err != nil {
		t.Fatal(err)
	}
	s := &kioskScreen{runtime: filepath.Join(dir, "run"), done: make(chan struct{})}
	home, profile := filepath.Join(dir, "home"), filepath.Join(dir, "chromium")
	for _, d := range []string{s.runtime, home, profile} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		const nobody = 65534 // cage will not run as root
		for _, d := range []string{dir, s.runtime, home, profile} {
			if err := os.Chown(d, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		attr.Credential = &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}
	}
	// Before the URL, the last argument: Debian's /usr/bin/chromium moves the flags before the first
	// argument that is not one to the end, in order, and Chromium takes the last of a repeated flag.
	args := append(append(append([]string{}, argv[1:len(argv)-1]...), "--user-data-dir="+profile), argv[len(argv)-1])
	s.cmd = exec.Command(cage, args...)
	s.cmd.Dir = dir
	s.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "XDG_RUNTIME_DIR=" + s.runtime,
		"WLR_BACKENDS=headless", "WLR_LIBINPUT_NO_DEVICES=1", "WLR_RENDERER=pixman",
	}
	s.cmd.SysProcAttr = attr
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start cage: %v", err)
	}
	t.Logf("cage %s (pid %d)", strings.Join(args, " "), s.cmd.Process.Pid)
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(3 * time.Second):
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
		killLeftovers(t, dir)
		if t.Failed() {
			t.Logf("output of cage and Chromium:\n%s", s.out.String())
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})

	// cage's socket, then a screen recorder before Chromium's first full-screen frame.
	deadline := time.Now().Add(10 * time.Second)
	for s.display == "" {
		if time.Now().After(deadline) || s.exited() {
			t.Fatalf("cage made no Wayland socket in %s (exited %v):\n%s", s.runtime, s.exited(), s.out.String())
		}
		if es, _ := os.ReadDir(s.runtime); len(es) > 0 {
			for _, e := range es {
				if strings.HasPrefix(e.Name(), "wayland-") && e.Type()&fs.ModeSocket != 0 {
					s.display = e.Name()
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	recordScreen(t, filepath.Join(s.runtime, s.display))
	return s
}

// killLeftovers kills, by pid, any process still running with the test's directory on its command
// line (a Chromium helper that left cage's process group).
func killLeftovers(t *testing.T, dir string) {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			t.Logf("killing leftover pid %d: %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// screenshot takes the output with grim (PNG on its standard output).
func (s *kioskScreen) screenshot(t *testing.T, grim string) []byte {
	t.Helper()
	cmd := exec.Command(grim, "-")
	cmd.Env = []string{"XDG_RUNTIME_DIR=" + s.runtime, "WAYLAND_DISPLAY=" + s.display}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("grim: %v %s\ncage's output:\n%s", err, errb.String(), s.out.String())
	}
	return out.Bytes()
}

// waitFor takes screenshots until ok says the screen is as expected and it has settled (the same as
// the one before), or the deadline passes, and returns the last.
func (s *kioskScreen) waitFor(t *testing.T, grim string, deadline time.Time, ok func(image.Image, shotStats) bool) ([]byte, image.Image, shotStats) {
	t.Helper()
	var prev []byte
	for {
		if s.exited() {
			t.Fatalf("cage exited:\n%s", s.out.String())
		}
		shot := s.screenshot(t, grim)
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatalf("grim's PNG: %v", err)
		}
		stats := statsOf(img)
		cur := pixelsOf(img)
		settled := bytes.Equal(prev, cur)
		prev = cur
		if ok(img, stats) && settled {
			return shot, img, stats
		}
		if time.Now().After(deadline) {
			t.Errorf("the screen is still not as expected: %v", stats)
			return shot, img, stats
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// fullScreen: the page reaches the screen's far corner, which cage leaves black where no window is.
func (s *kioskScreen) fullScreen(img image.Image) bool {
	b := img.Bounds()
	r, g, bl, _ := img.At(b.Max.X-2, b.Max.Y-2).RGBA()
	return r|g|bl != 0
}

// translateBubble counts the pixels of Chromium's dark translate bubble (#1f1f1f) in the screen's top
// 120 rows, where the kiosk's header has none; 0 when fewer than 5,000 (the bubble is about 430×48).
func translateBubble(img image.Image) int {
	b := img.Bounds()
	px := pixelsOf(img)
	n := 0
	for i := 0; i < len(px) && i < 3*b.Dx()*120; i += 3 {
		if px[i] == 0x1f && px[i+1] == 0x1f && px[i+2] == 0x1f {
			n++
		}
	}
	if n < 5000 {
		return 0
	}
	return n
}

func saveShot(t *testing.T, name string, png []byte) {
	t.Helper()
	p := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (kept with go test -artifacts)", p)
}

// shotStats counts a screenshot's colours.
type shotStats struct {
	pixels  int
	colours int
	counts  map[color.RGBA]int
	top     struct {
		c     color.RGBA
		share float64
	}
}

func (s shotStats) share(c color.RGBA) float64 { return float64(s.counts[c]) / float64(s.pixels) }

func (s shotStats) String() string {
	return fmt.Sprintf("%d colours, most #%02x%02x%02x %.1f%%, kiosk background #f2f4f7 %.1f%%, header #0b4f9c %.1f%%, white %.1f%%, black %.2f%%", s.colours,
		s.top.c.R, s.top.c.G, s.top.c.B, 100*s.top.share, 100*s.share(kioskBackground), 100*s.share(kioskPrimary), 100*s.share(white), 100*s.share(black))
}

func statsOf(img image.Image) shotStats {
	b := img.Bounds()
	s := shotStats{pixels: b.Dx() * b.Dy(), counts: map[color.RGBA]int{}}
	px := pixelsOf(img)
	for i := 0; i < len(px); i += 3 {
		s.counts[color.RGBA{px[i], px[i+1], px[i+2], 0xff}]++
	}
	s.colours = len(s.counts)
	for c, n := range s.counts {
		if sh := float64(n) / float64(s.pixels); sh > s.top.share {
			s.top.c, s.top.share = c, sh
		}
	}
	return s
}

// pixelsOf is the screenshot's RGB bytes, row by row (grim's PNGs are opaque).
func pixelsOf(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	var pix []byte
	var stride int
	switch im := img.(type) { // what image/png decodes grim's 8-bit RGB and RGBA into
	case *image.RGBA:
		pix, stride = im.Pix, im.Stride
	case *image.NRGBA:
		pix, stride = im.Pix, im.Stride
	}
	for y := 0; y < b.Dy(); y++ {
		if pix != nil {
			row := pix[y*stride : y*stride+4*b.Dx()]
			for i := 0; i < len(row); i += 4 {
				out = append(out, row[i], row[i+1], row[i+2])
			}
			continue
		}
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, b.Min.Y+y)).(color.RGBA)
			out = append(out, c.R, c.G, c.B)
		}
	}
	return out
}

// differingShare is the share of pixels two same-sized screenshots differ in (1 when the sizes differ).
func differingShare(a, b image.Image) float64 {
	if a.Bounds() != b.Bounds() {
		return 1
	}
	pa, pb := pixelsOf(a), pixelsOf(b)
	diff := 0
	for i := 0; i < len(pa); i += 3 {
		if pa[i] != pb[i] || pa[i+1] != pb[i+1] || pa[i+2] != pb[i+2] {
			diff++
		}
	}
	return float64(diff) / float64(len(pa)/3)
}

// recordScreen keeps a screencopy copy_with_damage request pending on the compositor's output for
// as long as the test runs, as a screen recorder does: wlroots locks direct scan-out off while a copy
// is pending and completes it at the next damaged frame, and the client asks again at once. So cage
// composites every frame and a screenshot is what a monitor shows. A minimal Wayland client of
// wl_display, wl_registry, wl_shm, wl_output and zwlr_screencopy_manager_v1 version 2.
func recordScreen(t *testing.T, socket string) {
	t.Helper()
	addr, err := net.ResolveUnixAddr("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUnix("unix", nil, addr)
	if err != nil {
		t.Fatalf("connect to cage: %v", err)
	}
	c := &waylandConn{conn: conn, r: bufio.NewReader(conn), next: 2}
	const display = 1
	registry := c.newID()
	c.send(display, 1, nil, registry) // wl_display.get_registry
	globals := map[string]uint32{}
	if err := c.roundtrip(func(obj uint32, op uint16, args []byte) {
		if obj == registry && op == 0 { // wl_registry.global(name, interface, version)
			globals[waylandStringArg(args[4:])] = binary.LittleEndian.Uint32(args)
		}
	}); err != nil {
		t.Fatalf("cage's globals: %v", err)
	}
	bind := func(iface string, version uint32) uint32 { // wl_registry.bind(name, new_id<interface, version, id>)
		name, ok := globals[iface]
		if !ok {
			t.Fatalf("cage offers no %s", iface)
		}
		id := c.newID()
		c.send(registry, 0, nil, name, waylandString(iface), version, id)
		return id
	}
	shm, manager, output := bind("wl_shm", 1), bind("zwlr_screencopy_manager_v1", 2), bind("wl_output", 1)
	if err := c.roundtrip(func(uint32, uint16, []byte) {}); err != nil {
		t.Fatalf("bind: %v", err)
	}

	// The loop: capture_output, the frame's buffer event (format, size), copy_with_damage into one
	// shm buffer made at the first, ready or failed, destroy, again.
	pool, err := os.CreateTemp(filepath.Dir(socket), "screencopy-")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(pool.Name())
	done := make(chan struct{})
	errc := make(chan error, 1)
	t.Cleanup(func() {
		conn.Close()
		<-done
		pool.Close()
		select {
		case err := <-errc:
			t.Errorf("screen recorder: %v", err)
		default:
		}
	})
	capture := func() uint32 { // zwlr_screencopy_manager_v1.capture_output(frame, overlay_cursor, output)
		frame := c.newID()
		c.send(manager, 0, nil, frame, uint32(0), output)
		return frame
	}
	frame, buffer := capture(), uint32(0)
	go func() {
		defer close(done)
		for {
			obj, op, args, err := c.read()
			if err != nil {
				return // the test closed the connection, or cage is gone
			}
			switch {
			case obj == display && op == 0:
				errc <- waylandError(args)
				return
			case obj == frame && op == 0 && buffer == 0: // buffer(format, width, height, stride)
				format, height, stride := binary.LittleEndian.Uint32(args), binary.LittleEndian.Uint32(args[8:]), binary.LittleEndian.Uint32(args[12:])
				width := binary.LittleEndian.Uint32(args[4:])
				if err := pool.Truncate(int64(stride * height)); err != nil {
					errc <- err
					return
				}
				p := c.newID()
				c.send(shm, 0, syscall.UnixRights(int(pool.Fd())), p, stride*height) // wl_shm.create_pool(id, fd, size)
				buffer = c.newID()
				c.send(p, 0, nil, buffer, uint32(0), width, height, stride, format) // wl_shm_pool.create_buffer
				c.send(p, 1, nil)                                                   // wl_shm_pool.destroy
				fallthrough
			case obj == frame && op == 0:
				c.send(frame, 2, nil, buffer) // copy_with_damage
			case obj == frame && (op == 2 || op == 3): // ready, failed
				c.send(frame, 1, nil) // destroy
				frame = capture()
			}
		}
	}()
}

type waylandConn struct {
	conn *net.UnixConn
	r    *bufio.Reader
	next uint32 // the next new id: the client's go up by one, or libwayland refuses them
}

func (c *waylandConn) newID() uint32 { c.next++; return c.next - 1 }

// waylandString is a string argument: its length with the NUL, the bytes, padding to 4.
type waylandString string

func waylandStringArg(b []byte) string {
	n := binary.LittleEndian.Uint32(b)
	return string(b[4 : 4+n-1])
}

func waylandError(args []byte) error { // wl_display.error(object, code, message)
	return fmt.Errorf("wl_display.error on object %d, code %d: %s", binary.LittleEndian.Uint32(args),
		binary.LittleEndian.Uint32(args[4:]), waylandStringArg(args[8:]))
}

// send writes a request; uint32 and waylandString arguments, fds beside it.
func (c *waylandConn) send(obj uint32, op uint16, fds []byte, args ...any) {
	var body []byte
	for _, a := range args {
		switch a := a.(type) {
		case uint32:
			body = binary.LittleEndian.AppendUint32(body, a)
		case waylandString:
			body = binary.LittleEndian.AppendUint32(body, uint32(len(a)+1))
			body = append(body, a...)
			for body = append(body, 0); len(body)%4 != 0; {
				body = append(body, 0)
			}
		}
	}
	msg := binary.LittleEndian.AppendUint32(nil, obj)
	msg = binary.LittleEndian.AppendUint32(msg, uint32(8+len(body))<<16|uint32(op))
	_, _, _ = c.conn.WriteMsgUnix(append(msg, body...), fds, nil)
}

// read reads one event.
func (c *waylandConn) read() (obj uint32, op uint16, args []byte, err error) {
	var hdr [8]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return 0, 0, nil, err
	}
	word := binary.LittleEndian.Uint32(hdr[4:])
	args = make([]byte, word>>16-8)
	if _, err := io.ReadFull(c.r, args); err != nil {
		return 0, 0, nil, err
	}
	return binary.LittleEndian.Uint32(hdr[:]), uint16(word), args, nil
}

// roundtrip sends wl_display.sync and reads events until its callback's done, failing on
// wl_display.error.
func (c *waylandConn) roundtrip(event func(obj uint32, op uint16, args []byte)) error {
	callback := c.newID()
	c.send(1, 0, nil, callback)
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.conn.SetReadDeadline(time.Time{})
	for {
		obj, op, args, err := c.read()
		switch {
		case err != nil:
			return err
		case obj == 1 && op == 0:
			return waylandError(args)
		case obj == callback && op == 0:
			return nil
		default:
			event(obj, op, args)
		}
	}
}
