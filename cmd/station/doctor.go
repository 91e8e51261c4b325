package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/ipp"
	"github.com/civic-station/station/internal/bytesize"
	"github.com/civic-station/station/internal/flagconf"
	"github.com/civic-station/station/internal/setupcode"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/diskspace"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer"
)

// `station doctor`: every check a technician would run by hand on a box, one line each, with what to
// do about each one that fails. It reads the same configuration as `station run` and runs beside a
// live station (read-only database, no device it would take from the station).

// Check outcomes.
const (
	checkOK   = "ok"
	checkWarn = "warn"
	checkFail = "fail"
)

// checkResult is one line of the doctor's report.
type checkResult struct {
	Name   string `json:"check"`
	Status string `json:"status"` // ok, warn or fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"` // what to do, when not ok
}

type doctor struct {
	m       *Main
	results []checkResult
	now     func() time.Time
	noHub   bool // skip the connection to the hub (--no-hub)
}

func (d *doctor) add(name, status, detail, fix string) {
	d.results = append(d.results, checkResult{Name: name, Status: status, Detail: detail, Fix: fix})
}

func doctorCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	m := NewMain()
	fset := runFlags(m, stderr)
	apply := configFlag(fset, os.LookupEnv)
	asJSON := fset.Bool("json", false, "以 JSON 输出")
	noHub := fset.Bool("no-hub", false, "不连接数据中心（离线检查）")
	if err := fset.Parse(args); err != nil {
		return flagExit(err)
	}
	d := &doctor{m: m, now: time.Now, noHub: *noHub}
	path, src, err := apply()
	if err == nil {
		m.applyDemoDefaults(src)
	}
	var ps flagconf.Problems
	switch {
	case errors.As(err, &ps):
		lines := make([]string, len(ps))
		for i, p := range ps {
			lines[i] = p.Error()
		}
		d.add("配置文件", checkFail, strings.Join(lines, "；"), "改正后运行 station config check")
	case err != nil:
		d.add("配置文件", checkFail, err.Error(), "station config example > "+path+" 生成一份")
	default:
		if bad := combinationProblems(m, src); len(bad) > 0 {
			d.add("配置文件", checkFail, strings.Join(bad, "；"), "改正 "+path+" 后运行 station config check")
		} else {
			d.add("配置文件", checkOK, describeFile(path), "")
		}
	}
	d.run(ctx)
	if *asJSON {
		writeJSON(stdout, d.results)
	} else {
		d.print(stdout)
	}
	for _, r := range d.results {
		if r.Status == checkFail {
			return 1
		}
	}
	return 0
}

func (d *doctor) print(w io.Writer) {
	marks := map[string]string{checkOK: "✓", checkWarn: "!", checkFail: "✗"}
	fails, warns := 0, 0
	for _, r := range d.results {
		fmt.Fprintf(w, "%s %s：%s\n", marks[r.Status], r.Name, r.Detail)
		if r.Fix != "" {
			fmt.Fprintf(w, "    处理：%s\n", r.Fix)
		}
		switch r.Status {
		case checkFail:
			fails++
		case checkWarn:
			warns++
		}
	}
	if fails == 0 && warns == 0 {
		fmt.Fprintf(w, "全部 %d 项正常\n", len(d.results))
		return
	}
	fmt.Fprintf(w, "%d 项检查：%d 项有错误，%d 项需要注意\n", len(d.results), fails, warns)
}

// run makes every check after the configuration.
func (d *doctor) run(ctx context.Context) {
	dir := d.m.DataDir
	if d.checkDataDir(dir) {
		d.checkDataKey(dir)
		d.checkStore(ctx, dir)
		d.checkDisk(dir)
		d.checkSync(dir)
		d.checkBackups(dir)
		d.checkTLS()
	}
	d.checkService()
	d.checkCluster(ctx)
	d.checkHTTP(ctx)
	d.checkHTTPS(ctx)
	d.checkDevices(ctx)
}

func (d *doctor) checkDataDir(dir string) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		d.add("数据目录", checkFail, fmt.Sprintf("%s 不存在或无法读取（%v）", dir, err), "sudo station service install 会建立它；或检查配置项 data")
		return false
	}
	if !fi.IsDir() {
		d.add("数据目录", checkFail, dir+" 不是目录", "检查配置项 data")
		return false
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		d.add("数据目录", checkFail, fmt.Sprintf("%s 的权限是 %04o，其他用户可以访问", dir, fi.Mode().Perm()), "chmod 700 "+dir)
		return true
	}
	d.add("数据目录", checkOK, fmt.Sprintf("%s（权限 %04o%s）", dir, fi.Mode().Perm(), ownerOf(fi)), "")
	return true
}

func (d *doctor) checkDataKey(dir string) {
	path := filepath.Join(dir, "datakey")
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.add("数据密钥", checkWarn, "尚未生成（station run 首次启动时生成）", "")
	case err != nil:
		d.add("数据密钥", checkFail, fmt.Sprintf("无法读取 %s（%v）", path, err), "以服务用户运行，或检查权限")
	case runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600:
		d.add("数据密钥", checkFail, fmt.Sprintf("%s 的权限是 %04o，应为 0600", path, fi.Mode().Perm()), "chmod 600 "+path)
	default:
		d.add("数据密钥", checkOK, path+"（权限 0600；请另行备份，丢失后已存证件号无法读取）", "")
	}
}

func (d *doctor) checkStore(ctx context.Context, dir string) {
	path := filepath.Join(dir, "station.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		d.add("数据库", checkWarn, "尚未建立（station run 首次启动时建立）", "")
		return
	}
	db, err := openStationDB(ctx, dir, sqlite.ReadOnly())
	if err != nil {
		d.add("数据库", checkFail, err.Error(), "查看日志（journalctl -u station）；必要时从备份恢复")
		return
	}
	defer db.Close()
	if err := db.Ready(ctx); err != nil {
		d.add("数据库", checkFail, err.Error(), "启动一次 station run 完成数据库升级")
		return
	}
	d.checkSchema(ctx, db)
	res, err := db.IntegrityCheck(ctx)
	switch {
	case err != nil:
		d.add("数据库", checkFail, "完整性检查失败："+err.Error(), "查看日志；必要时从备份恢复")
	case res != "ok":
		d.add("数据库", checkFail, "完整性检查发现问题："+res, "停止服务后从最近的备份恢复")
	default:
		d.add("数据库", checkOK, path+"（完整性检查通过）", "")
	}
	rep, err := db.VerifyAudit(ctx)
	switch {
	case err != nil:
		d.add("审计日志", checkFail, "无法校验："+err.Error(), "")
	case !rep.OK:
		d.add("审计日志", checkFail, fmt.Sprintf("哈希链从第 %d 条起不可信：%s", rep.FirstBadSeq, rep.Problem), "保留现场并报告数据中心；不要修改数据库")
	default:
		d.add("审计日志", checkOK, fmt.Sprintf("共 %d 条，哈希链连续", rep.Entries), "")
	}
	d.checkFirstRun(ctx, db, dir)
}

// checkFirstRun says whether the station still waits for its first-run setup, and whether a setup
// code is valid for it.
func (d *doctor) checkFirstRun(ctx context.Context, db *sqlite.DB, dir string) {
	if d.m.Demo {
		return
	}
	users, err := db.Users(ctx)
	if err != nil {
		d.add("首次设置", checkFail, "无法读取账号："+err.Error(), "")
		return
	}
	if len(users) > 0 {
		d.add("首次设置", checkOK, fmt.Sprintf("已完成（%d 个账号）", len(users)), "")
		return
	}
	valid, until, err := setupcode.Valid(dir, d.now())
	detail := "尚未完成：本站还没有账号"
	switch {
	case err != nil:
		detail += "；设置码文件无法读取（" + err.Error() + "）"
	case valid:
		detail += "；设置码 " + until.In(station.ChinaTime).Format("2006-01-02 15:04") + " 前有效"
	default:
		detail += "；没有有效的设置码"
	}
	d.add("首次设置", checkWarn, detail, "在本机屏幕打开 /setup 完成首次设置；从局域网内的电脑设置需设置码：station setup code --data "+dir+" 生成新的设置码")
}

// checkSchema compares the database's schema version with this program's and names the newest
// pre-upgrade snapshot.
func (d *doctor) checkSchema(ctx context.Context, db *sqlite.DB) {
	v, err := db.SchemaVersion(ctx)
	prog := sqlite.SchemaVersion()
	switch {
	case err != nil:
		d.add("数据库结构", checkFail, err.Error(), "")
	case v > prog:
		d.add("数据库结构", checkFail, fmt.Sprintf("数据库结构版本 %d 比本程序的 %d 新", v, prog), "安装新版本，或从升级前的备份恢复")
	case v < prog:
		d.add("数据库结构", checkWarn, fmt.Sprintf("数据库结构版本 %d，本程序 %d：下次启动时升级（升级前自动备份）", v, prog), "重启服务完成升级")
	default:
		detail := fmt.Sprintf("结构版本 %d", v)
		if snaps, _ := filepath.Glob(filepath.Join(sqlite.UpgradeBackupDir(db.Path()), "station-schema*.db")); len(snaps) > 0 {
			sort.Strings(snaps)
			detail += "；升级前备份 " + snaps[len(snaps)-1]
		}
		d.add("数据库结构", checkOK, detail, "")
	}
}

func (d *doctor) checkDisk(dir string) {
	st := diskspace.New(dir, d.m.DiskReserve, diskspace.Options{}).Status()
	detail := fmt.Sprintf("可用 %s，保留 %s", bytesize.Format(st.FreeBytes), bytesize.Format(st.ReserveBytes))
	if st.Low {
		d.add("磁盘空间", checkFail, detail+"：已暂停受理新业务", "清理磁盘或扩容；已有数据安全")
		return
	}
	if st.Error != "" {
		d.add("磁盘空间", checkWarn, "无法读取可用空间："+st.Error, "")
		return
	}
	if st.FreeBytes < 2*st.ReserveBytes {
		d.add("磁盘空间", checkWarn, detail+"：接近保留值", "尽快清理磁盘或扩容")
		return
	}
	d.add("磁盘空间", checkOK, detail, "")
}

func (d *doctor) checkSync(dir string) {
	id, err := syncer.LoadIdentity(dir)
	if err != nil {
		d.add("数据中心", checkWarn, "尚未注册（记录保存在本地）", "station enroll --hub URL --token 令牌")
		return
	}
	d.checkStationCert(id)
	if !d.noHub {
		d.checkHubTLS(id)
	}
	b, err := os.ReadFile(syncStatusFile(dir))
	var st syncer.Status
	if err != nil || json.Unmarshal(b, &st) != nil {
		d.add("数据中心", checkWarn, fmt.Sprintf("已注册 %s，尚无同步记录", id.HubURL), "确认服务在运行、网络可达数据中心")
		return
	}
	switch {
	case st.DeadLetters > 0:
		d.add("同步积压", checkWarn, fmt.Sprintf("%d 条记录被搁置（数据中心拒收），%d 条待上传", st.DeadLetters, st.Pending), "在设置页“同步”中查看搁置原因，处理后重试")
	case st.Pending > 0 && st.OldestAge.Duration() > 24*time.Hour:
		d.add("同步积压", checkWarn, fmt.Sprintf("%d 条待上传，最早的已等待 %s", st.Pending, st.OldestAge.Duration().Round(time.Minute)), "检查网络；记录保存在本地，恢复后自动上报")
	default:
		d.add("同步积压", checkOK, fmt.Sprintf("%d 条待上传，无搁置记录", st.Pending), "")
	}
	switch {
	case st.UpgradeRequired:
		d.add("数据中心", checkFail, st.LastError, "安装新版本的 station 软件包（apt install ./station_….deb）；升级前数据自动备份")
	case st.LastSuccess.IsZero():
		d.add("数据中心", checkWarn, fmt.Sprintf("已注册 %s，从未同步成功（%s）", id.HubURL, st.LastError), "检查网络和数据中心地址")
	case d.now().Sub(st.LastSuccess) > time.Hour:
		d.add("数据中心", checkWarn, fmt.Sprintf("最近一次成功同步在 %s 前（%s）", d.now().Sub(st.LastSuccess).Round(time.Minute), st.LastError), "检查网络；记录保存在本地，恢复后自动上报")
	default:
		d.add("数据中心", checkOK, fmt.Sprintf("%s，最近成功同步于 %s 前", id.HubURL, d.now().Sub(st.LastSuccess).Round(time.Second)), "")
	}
	if skew := st.ClockSkew.Duration(); skew > 2*time.Minute || skew < -2*time.Minute {
		d.add("时钟", checkWarn, fmt.Sprintf("本机时钟与数据中心相差 %s", skew.Round(time.Second)), "开启时间同步（timedatectl set-ntp true）")
	}
}

// checkStationCert reports when the station's certificate for the hub expires.
func (d *doctor) checkStationCert(id *syncer.Identity) {
	leaf := id.Cert.Leaf
	if leaf == nil && len(id.Cert.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(id.Cert.Certificate[0])
	}
	if leaf == nil {
		d.add("站点证书", checkFail, "无法读取站点证书", "重新注册：station enroll --hub URL --token 令牌")
		return
	}
	left := leaf.NotAfter.Sub(d.now())
	until := leaf.NotAfter.In(station.ChinaTime).Format("2006-01-02")
	switch {
	case left <= 0:
		d.add("站点证书", checkFail, "站点证书已于 "+until+" 过期，数据中心拒绝同步", "向数据中心申请注册码后重新注册（station enroll）")
	case left < 30*24*time.Hour:
		d.add("站点证书", checkWarn, fmt.Sprintf("站点证书将于 %s 过期（还有 %d 天）", until, int(left.Hours()/24)), "向数据中心申请注册码后重新注册（station enroll）")
	default:
		d.add("站点证书", checkOK, "有效期至 "+until, "")
	}
}

// checkHubTLS opens a TLS connection to the hub with the station's certificate, trusting only the
// hub CA from enrollment: reachable, and the hub's certificate valid and from that CA.
func (d *doctor) checkHubTLS(id *syncer.Identity) {
	u, err := url.Parse(id.HubURL)
	if err != nil || u.Host == "" {
		d.add("数据中心连接", checkFail, "数据中心地址无效："+id.HubURL, "重新注册：station enroll --hub https://主机:端口 --token 令牌")
		return
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	start := time.Now()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", host, id.TLSConfig())
	if err != nil {
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			d.add("数据中心连接", checkFail, "数据中心的证书不可信："+err.Error(), "核对数据中心地址；数据中心换过 CA 时需重新注册")
		} else {
			d.add("数据中心连接", checkFail, fmt.Sprintf("无法连接 %s：%v", host, err), "检查网络、防火墙和数据中心地址")
		}
		return
	}
	defer conn.Close()
	hub := conn.ConnectionState().PeerCertificates[0]
	detail := fmt.Sprintf("%s，TLS %s，握手 %s，数据中心证书有效期至 %s", host, tls.VersionName(conn.ConnectionState().Version),
		time.Since(start).Round(time.Millisecond), hub.NotAfter.In(station.ChinaTime).Format("2006-01-02"))
	if hub.NotAfter.Sub(d.now()) < 30*24*time.Hour {
		d.add("数据中心连接", checkWarn, detail, "数据中心证书即将过期：请通知数据中心")
		return
	}
	d.add("数据中心连接", checkOK, detail, "")
}

// checkBackups reports the scheduled backups from the configuration and the last outcome the running
// station recorded.
func (d *doctor) checkBackups(dir string) {
	p := d.m.Backups
	if p.At == "" {
		d.add("定时备份", checkWarn, "未设置", "在配置文件中设置 backup-at（如 \"02:30\"）和 backup-to（如U盘挂载点）")
		return
	}
	var st station.BackupStatus
	raw, err := os.ReadFile(backupStatusFile(dir))
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	switch {
	case err != nil || st.LastAttempt.IsZero():
		d.add("定时备份", checkWarn, fmt.Sprintf("每天 %s 备份到 %s，尚未执行过", p.At, p.To), "确认服务在运行；可先手动执行 station backup --to 检查目的目录")
	case st.Alert(d.now()) != "":
		d.add("定时备份", checkFail, st.Alert(d.now()), "检查目的目录（U盘是否插好、空间是否足够），再手动执行 station backup --to 确认")
	default:
		d.add("定时备份", checkOK, fmt.Sprintf("每天 %s 备份到 %s，最近一次 %s（%s，%s）", p.At, p.To,
			st.LastSuccess.In(station.ChinaTime).Format("2006-01-02 15:04"), filepath.Base(st.LastFile), bytesize.Format(st.LastBytes)), "")
	}
}

func (d *doctor) checkService() {
	if supportedPlatform() != "" {
		d.add("系统服务", checkWarn, "本机没有 systemd 或 Windows 服务管理器，未作为服务运行", "")
		return
	}
	if runtime.GOOS == "windows" {
		return // the HTTP check below says whether it serves
	}
	out, err := exec.Command("systemctl", "show", serviceName, "--property=LoadState,ActiveState,SubState,ActiveEnterTimestamp,MainPID,NRestarts").Output()
	if err != nil {
		d.add("系统服务", checkWarn, "systemctl show 失败："+err.Error(), "")
		return
	}
	line, running := describeUnit(string(out))
	if running {
		d.add("系统服务", checkOK, line, "")
	} else {
		d.add("系统服务", checkFail, line, "sudo station service start")
	}
}

// checkHTTP asks the running station's /readyz on the configured address.
func (d *doctor) checkHTTP(ctx context.Context) {
	host, port, err := net.SplitHostPort(d.m.Listen)
	if err != nil {
		d.add("网页服务", checkFail, "监听地址无效："+d.m.Listen, "检查配置项 listen")
		return
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.add("网页服务", checkFail, fmt.Sprintf("%s 无应答（%v）", url, err), "启动服务（sudo station service start）并查看日志")
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		d.add("网页服务", checkFail, fmt.Sprintf("%s 答复 %d：%s", url, resp.StatusCode, strings.TrimSpace(string(body))), "查看日志（journalctl -u station）")
		return
	}
	d.add("网页服务", checkOK, url+" 就绪", "")
}

// checkDevices checks the configured devices without taking them from the station: serial and
// camera devices by their device file, network printers by a status query.
func (d *doctor) checkDevices(ctx context.Context) {
	m := d.m
	if m.Demo {
		d.add("设备", checkOK, "演示模式使用模拟设备", "")
		return
	}
	if m.IDReader == "" && m.TicketPrinter == "" && m.DocumentPrinter == "" && m.Camera == "" {
		d.add("设备", checkWarn, "未配置任何设备", "station devices list 查找设备，写入配置项 idreader、ticket-printer、document-printer、camera")
		return
	}
	deviceFile := func(name, path string) {
		if path == "auto" {
			d.add(name, checkOK, "自动查找（station devices list 列出找到的读卡器）", "")
			return
		}
		f, err := os.OpenFile(path, os.O_RDONLY|syscallNonblock, 0)
		if err != nil {
			fix := "检查连线；串口设备需服务用户在 dialout 组（station service install 会加入）"
			if errors.Is(err, os.ErrNotExist) {
				fix = "设备未接入或名称变了：station devices list"
			}
			d.add(name, checkFail, fmt.Sprintf("%s：%v", path, err), fix)
			return
		}
		f.Close()
		d.add(name, checkOK, path+" 存在", "")
	}
	if m.IDReader != "" {
		deviceFile("身份证读卡器", m.IDReader)
	}
	if m.Camera != "" {
		deviceFile("高拍仪", m.Camera)
	}
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	printer := func(name, uri string, st devices.Status, err error) {
		switch {
		case err != nil:
			d.add(name, checkFail, fmt.Sprintf("%s：地址无效（%v）", uri, err), "检查配置项")
		case st.State == devices.StateReady || st.State == devices.StatePaperLow:
			d.add(name, checkOK, fmt.Sprintf("%s：%s", uri, stateLabels[st.State]), "")
		default:
			d.add(name, checkFail, fmt.Sprintf("%s：%s %s", uri, stateLabels[st.State], st.LastError), "检查电源、网线、纸张")
		}
	}
	if m.TicketPrinter != "" && !strings.HasPrefix(m.TicketPrinter, "serial:") {
		p, err := escpos.Open(m.TicketPrinter, escpos.Options{})
		var st devices.Status
		if err == nil {
			st = p.Status(qctx)
		}
		printer("小票打印机", m.TicketPrinter, st, err)
	}
	if m.DocumentPrinter != "" {
		p, err := ipp.New(m.DocumentPrinter, documentPrinterOptions())
		var st devices.Status
		if err == nil {
			st = p.Status(qctx)
		}
		printer("A4打印机", m.DocumentPrinter, st, err)
	}
}
