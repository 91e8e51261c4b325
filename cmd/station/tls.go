package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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

	"github.com/civic-station/station/internal/flagconf"
	shttp "github.com/civic-station/station/station/http"
	"github.com/civic-station/station/station/lantls"
	"github.com/civic-station/station/syncer"
)

// HTTPS on the LAN. Counter terminals reach the station over the network, so they get HTTPS with a
// certificate from the station's own CA (<data>/tls, created at first start; station/lantls), or from
// files the operator supplies (--tls-cert, --tls-key). Plain HTTP serves only loopback: the kiosk's own
// browser. A --listen that is not loopback refuses to start rather than redirect, because a redirect
// comes too late: the browser has already sent the password or the resident's data in clear.

// defaultListenHTTPS is the HTTPS address of `station run` (runFlags sets it, as it does the demo hub
// console's; a Main from NewMain serves no HTTPS until told).
const defaultListenHTTPS = ":8443"

// demoListenHTTPS is where the demo serves HTTPS unless --listen-https says otherwise: a free loopback
// port, so that `make run` takes no fixed port beyond the two it names and opens nothing to the LAN.
const demoListenHTTPS = "127.0.0.1:0"

// applyDemoDefaults gives the demo its own defaults where the configuration left a key unset: HTTPS
// on a free loopback port rather than the LAN's :8443.
func (m *Main) applyDemoDefaults(src map[string]flagconf.Source) {
	if m.Demo && src["listen-https"] == flagconf.FromDefault {
		m.ListenHTTPS = demoListenHTTPS
	}
	if m.Demo && src["cluster-listen"] == flagconf.FromDefault {
		m.ClusterListen = demoClusterListen
	}
}

// tlsRefresh is how often a running station looks at its certificate again: it reissues it when the
// box's addresses changed or its end is near, and takes up files that `station tls renew` or the
// operator replaced.
const tlsRefresh = 10 * time.Minute

// tlsDir is where the station CA and its server certificate live.
func tlsDir(dataDir string) string { return filepath.Join(dataDir, "tls") }

// registerTLSFlags adds the HTTPS flags of `station run`.
func (m *Main) registerTLSFlags(fs *flag.FlagSet) {
	m.ListenHTTPS = defaultListenHTTPS
	fs.Var(checkedString{&m.ListenHTTPS, checkHostPortOrOff}, "listen-https", "HTTPS 监听地址 HOST:PORT（柜台电脑经局域网访问；演示模式默认 127.0.0.1:0），空字符串为不启用")
	fs.StringVar(&m.TLSCert, "tls-cert", "", "自备的 HTTPS 证书文件（PEM，含中间证书）；不设置时使用本站自建的根证书签发（数据目录 tls/）")
	fs.StringVar(&m.TLSKey, "tls-key", "", "自备证书的私钥文件（PEM），与 tls-cert 一起设置")
	fs.Var(checkedString{&m.TLSNames, checkNames}, "tls-names", "本站证书另外包含的主机名或地址，逗号分隔（本机主机名、网卡地址、localhost 已自动包含）")
}

// checkHostPortOrOff accepts HOST:PORT or "" (off).
func checkHostPortOrOff(v string) error {
	if v == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return errors.New("应为 主机:端口，如 :8443 或 192.168.1.10:8443；空字符串为不启用 HTTPS")
	}
	return nil
}

// checkNames accepts a comma-separated list of host names and IP addresses.
func checkNames(v string) error {
	for _, n := range splitNames(v) {
		if net.ParseIP(n) == nil && (strings.ContainsAny(n, " /:*") || strings.HasPrefix(n, ".")) {
			return fmt.Errorf("%q 不是主机名或 IP 地址（多个用逗号分隔，如 station-01.local,192.168.1.10）", n)
		}
	}
	return nil
}

func splitNames(v string) []string {
	var out []string
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// lanHTTPError is a plain-HTTP --listen that is not loopback: the station refuses it, in Chinese and
// English, naming what to use instead.
type lanHTTPError struct{ addr string }

func (e *lanHTTPError) Error() string {
	return fmt.Sprintf("无法启动：--listen %s 不是本机地址。明文 HTTP 只供本机（自助终端的浏览器）使用，"+
		"局域网内的柜台电脑请用 HTTPS：配置项 listen-https（如 :8443），并把 listen 改为 127.0.0.1:8080。\n"+
		"cannot start: --listen %s is not a loopback address; plain HTTP serves only this box. "+
		"Serve the LAN with --listen-https (e.g. :8443) and set --listen 127.0.0.1:8080.", e.addr, e.addr)
}

// checkPlainListen returns a *lanHTTPError unless addr's host is loopback (127.0.0.0/8, ::1 or
// localhost). An empty host, 0.0.0.0 and :: mean every address, so they are refused too.
func checkPlainListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil // the flag's own check reports it
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return &lanHTTPError{addr: addr}
}

// tlsFlagsError is an inconsistent set of TLS flags; it names the keys.
type tlsFlagsError struct{ msg string }

func (e *tlsFlagsError) Error() string { return e.msg }

// checkTLSFlags checks the combination of the TLS flags.
func (m *Main) checkTLSFlags() error {
	if (m.TLSCert == "") != (m.TLSKey == "") {
		return &tlsFlagsError{"无法启动：tls-cert 和 tls-key 须一起设置（自备证书及其私钥）；都不设置则使用本站自建的证书。\n" +
			"cannot start: set both --tls-cert and --tls-key, or neither"}
	}
	return nil
}

// tlsCurrent is the certificate the HTTPS listener presents, with what the setup page shows of it.
type tlsCurrent struct {
	cert      *tls.Certificate
	leaf      *x509.Certificate
	ca        *x509.Certificate // the station CA; nil for the operator's certificate
	stationCA bool
}

// tlsService keeps the HTTPS certificate: it loads or issues it at start and every tlsRefresh, and
// answers the TLS handshake and the setup page with the current one.
type tlsService struct {
	m        *Main
	mu       sync.Mutex
	cur      tlsCurrent
	port     string
	loopback bool // the listener takes only this box's connections
}

// TLSStatus implements shttp.TLSInfo.
func (t *tlsService) TLSStatus() shttp.TLSStatus {
	t.mu.Lock()
	cur := t.cur
	t.mu.Unlock()
	st := shttp.TLSStatus{Enabled: cur.leaf != nil, StationCA: cur.stationCA, Port: t.port, LoopbackOnly: t.loopback}
	if cur.leaf != nil {
		st.Names = lantls.CertNames(cur.leaf)
		na := cur.leaf.NotAfter
		st.NotAfter = &na
	}
	if cur.ca != nil {
		st.CAFingerprint = lantls.Fingerprint(cur.ca)
		st.CASubject = cur.ca.Subject.String()
		na := cur.ca.NotAfter
		st.CANotAfter = &na
		st.CACert = cur.ca.Raw
	}
	return st
}

func (t *tlsService) certificate() *tls.Certificate {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur.cert
}

// load reads or issues the certificate (force: reissue the station's one) and makes it current.
func (t *tlsService) load(force bool) (*lantls.State, error) {
	m := t.m
	if m.TLSCert != "" {
		pair, leaf, err := lantls.LoadKeyPair(m.TLSCert, m.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load --tls-cert %s / --tls-key %s: %w", m.TLSCert, m.TLSKey, err)
		}
		t.set(tlsCurrent{cert: &pair, leaf: leaf})
		return nil, nil
	}
	st, err := lantls.Ensure(m.tlsOptions(force))
	if err != nil {
		return nil, err
	}
	t.set(tlsCurrent{cert: &st.Cert, leaf: st.Leaf, ca: st.CA, stationCA: true})
	return st, nil
}

func (t *tlsService) set(cur tlsCurrent) {
	t.mu.Lock()
	t.cur = cur
	t.mu.Unlock()
}

// run refreshes the certificate every tlsRefresh until ctx ends; a failure keeps the current one.
func (t *tlsService) run(ctx context.Context) {
	tick := time.NewTicker(tlsRefresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		st, err := t.load(false)
		switch {
		case err != nil:
			t.m.Logger.Error("TLS certificate refresh failed; keeping the current one", "err", err)
		case st != nil && st.Issued:
			t.m.Logger.Info("TLS certificate reissued", "reason", st.Reason, "names", strings.Join(lantls.CertNames(st.Leaf), ","), "not_after", st.Leaf.NotAfter)
		}
	}
}

// tlsOptions is what the station CA issues for this box now.
func (m *Main) tlsOptions(force bool) lantls.Options {
	name, _ := os.Hostname()
	if id, err := syncer.LoadIdentity(m.DataDir); err == nil && id.StationID != "" {
		name = id.StationID
	}
	if m.Demo {
		name = "demo " + name
	}
	// Before the store opens (the first TLS start) the community is the flag's or the demo's.
	info, err := m.certStation(context.Background())
	if err != nil {
		m.Logger.Warn("read the station's community for its CA", "err", err)
	}
	return lantls.Options{
		Dir:          tlsDir(m.DataDir),
		CAName:       name,
		Organization: info.Community,
		Names:        lantls.LocalNames(splitNames(m.TLSNames)),
		Now:          m.Now(),
		Force:        force,
	}
}

// startTLS loads or issues the HTTPS certificate; Run calls it once the data directory exists.
func (m *Main) startTLS() error {
	if m.httpsLn == nil {
		return nil
	}
	host, port, _ := net.SplitHostPort(m.httpsLn.Addr().String())
	ip := net.ParseIP(host)
	m.tls = &tlsService{m: m, port: port, loopback: ip != nil && ip.IsLoopback()}
	st, err := m.tls.load(false)
	if err != nil {
		return fmt.Errorf("HTTPS 证书无法载入或签发（station doctor 检查；自备证书见配置项 tls-cert、tls-key）/ HTTPS certificate: %w", err)
	}
	if st != nil && st.NewCA {
		m.Logger.Info("station CA created", "path", filepath.Join(st.Dir, lantls.CACertFile), "fingerprint", lantls.Fingerprint(st.CA))
	}
	if st != nil && st.Issued {
		m.Logger.Info("TLS certificate issued", "reason", st.Reason, "names", strings.Join(lantls.CertNames(st.Leaf), ","), "not_after", st.Leaf.NotAfter)
	}
	return nil
}

// httpsListener wraps the bound HTTPS port in TLS with the station's certificate.
func (m *Main) httpsListener() net.Listener {
	return tls.NewListener(m.httpsLn, lantls.ServerConfig(m.tls.certificate))
}

// HTTPSURL returns the base URL of the HTTPS listener as a counter terminal would write it (the
// box's host name when it listens on every address), or "" without HTTPS.
func (m *Main) HTTPSURL() string {
	if m.tls == nil || m.HTTP == nil {
		return ""
	}
	addrs := m.HTTP.Addrs()
	if len(addrs) < 2 {
		return ""
	}
	host, port, _ := net.SplitHostPort(addrs[1].String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	return "https://" + net.JoinHostPort(host, port)
}

// tlsInfo is the certificate for the setup page: nil (not a nil *tlsService) without HTTPS.
func (m *Main) tlsInfo() shttp.TLSInfo {
	if m.tls == nil {
		return nil
	}
	return m.tls
}

// printHTTPS adds the HTTPS addresses and the CA's fingerprint to the start-up banner.
func (m *Main) printHTTPS(w io.Writer) {
	u := m.HTTPSURL()
	if u == "" {
		fmt.Fprintln(w, "  （未启用 HTTPS：局域网内的柜台电脑无法访问；配置项 listen-https）")
		return
	}
	fmt.Fprintf(w, "  柜台电脑（HTTPS）%s/counter\n", u)
	st := m.tls.TLSStatus()
	if st.StationCA {
		fmt.Fprintf(w, "  本站根证书 %s（柜台电脑先在 %s/setup 下载安装）\n  指纹 SHA-256 %s\n",
			filepath.Join(tlsDir(m.DataDir), lantls.CACertFile), u, st.CAFingerprint)
	}
}

// lanBaseURL is how a counter terminal would reach the configured HTTPS address: the box's host name
// when it listens on every address. Tools that do not run the station use it (`station tls show`).
func (m *Main) lanBaseURL() string {
	host, port, err := net.SplitHostPort(m.ListenHTTPS)
	if err != nil {
		return "https://本机地址:端口"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "本机地址"
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		}
	}
	return "https://" + net.JoinHostPort(host, port)
}
