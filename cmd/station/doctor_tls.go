package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/civic-station/station/station/lantls"
)

// caRenewWarning is how long before the station CA's end the doctor starts to warn: replacing it means
// visiting every counter terminal.
const caRenewWarning = 365 * 24 * time.Hour

// tlsCheck is the doctor's line for the HTTPS certificate.
const tlsCheck = "HTTPS 证书"

// checkTLS checks the certificate the HTTPS listener presents: present, matching its key, valid for
// at least RenewBefore, and naming the box's current addresses (station CA only).
func (d *doctor) checkTLS() {
	m := d.m
	if m.ListenHTTPS == "" {
		d.add(tlsCheck, checkWarn, "未启用 HTTPS：局域网内的柜台电脑无法访问本站", `配置项 listen-https = ":8443"，然后重启服务`)
		return
	}
	now := d.now()
	if m.TLSCert != "" {
		_, leaf, err := lantls.LoadKeyPair(m.TLSCert, m.TLSKey)
		if err != nil {
			d.add(tlsCheck, checkFail, fmt.Sprintf("自备证书 %s / %s 无法载入（%v）", m.TLSCert, m.TLSKey, err), "检查配置项 tls-cert、tls-key：文件存在、服务用户可读、证书与私钥配对")
			return
		}
		d.expiry(leaf, now, "自备证书 "+m.TLSCert, "向签发方换发证书，替换 "+m.TLSCert+" 和 "+m.TLSKey+"（运行中的服务站 10 分钟内换用）")
		return
	}
	dir := tlsDir(m.DataDir)
	ca, _, err := lantls.LoadCA(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.add(tlsCheck, checkWarn, "本站根证书尚未生成（station run 首次启动时生成）", "")
		return
	case err != nil:
		d.add(tlsCheck, checkFail, "本站根证书无法读取："+err.Error(), "从备份恢复 "+filepath.Join(dir, lantls.CACertFile)+"；柜台电脑安装的是它")
		return
	}
	for _, key := range []string{lantls.CAKeyFile, lantls.ServerKeyFile} {
		if err := lantls.CheckKeyMode(filepath.Join(dir, key)); errors.Is(err, lantls.ErrKeyMode) {
			d.add(tlsCheck, checkFail, "私钥其他用户可读："+err.Error(), "chmod 600 "+filepath.Join(dir, key))
			return
		} else if err != nil && key == lantls.CAKeyFile {
			d.add(tlsCheck, checkFail, "本站根证书的私钥无法读取："+err.Error(), "从备份恢复 "+filepath.Join(dir, key))
			return
		}
	}
	certFile := filepath.Join(dir, lantls.ServerCertFile)
	_, leaf, err := lantls.LoadKeyPair(certFile, filepath.Join(dir, lantls.ServerKeyFile))
	if err != nil {
		d.add(tlsCheck, checkFail, "服务器证书缺失或与私钥不配对（"+err.Error()+"）", "station tls renew")
		return
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		d.add(tlsCheck, checkFail, "服务器证书不是本站根证书签发的", "station tls renew")
		return
	}
	want := lantls.LocalNames(splitNames(m.TLSNames))
	have := lantls.CertNames(leaf)
	var missing []string
	for _, n := range want {
		if !slices.Contains(have, n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		d.add(tlsCheck, checkWarn, "证书未包含本机现在的名称或地址 "+strings.Join(missing, "、")+"（柜台电脑用它们访问会报证书错误）",
			"station tls renew（运行中的服务站 10 分钟内也会自动换发）")
		return
	}
	if left := ca.NotAfter.Sub(now); left < caRenewWarning {
		d.add("本站根证书", checkWarn, fmt.Sprintf("%s 将于 %s 过期（柜台电脑安装的就是它）", ca.Subject.CommonName, ca.NotAfter.Local().Format(time.DateOnly)),
			"到期前安排换用新根证书：停止服务，移走 "+dir+"，启动服务，再在每台柜台电脑安装新的本站证书")
	}
	d.expiry(leaf, now, fmt.Sprintf("本站根证书 %s（指纹 %s）签发，含 %s", ca.Subject.CommonName, lantls.Fingerprint(ca), strings.Join(have, "、")),
		"station tls renew（运行中的服务站会在到期前 30 天内自动换发；未换发说明它没有运行或无法写入 "+dir+"）")
}

// expiry adds the certificate line by its end: expired fails, within RenewBefore warns.
func (d *doctor) expiry(leaf *x509.Certificate, now time.Time, what, fix string) {
	left := leaf.NotAfter.Sub(now)
	end := leaf.NotAfter.Local().Format(time.DateOnly)
	switch {
	case left <= 0:
		d.add(tlsCheck, checkFail, fmt.Sprintf("%s：已于 %s 过期", what, end), fix)
	case left < lantls.RenewBefore:
		d.add(tlsCheck, checkWarn, fmt.Sprintf("%s：%d 天后（%s）过期", what, int(left.Hours()/24), end), fix)
	default:
		d.add(tlsCheck, checkOK, fmt.Sprintf("%s，有效至 %s", what, end), "")
	}
}

// checkHTTPS makes a TLS handshake with the running station's HTTPS port and compares the
// certificate it presents with the one on disk.
func (d *doctor) checkHTTPS(ctx context.Context) {
	m := d.m
	if m.ListenHTTPS == "" {
		return
	}
	if m.Demo && m.ListenHTTPS == demoListenHTTPS {
		d.add("HTTPS 服务", checkOK, "演示模式：HTTPS 在本机随机端口（见 station run 的输出）", "")
		return
	}
	host, port, err := net.SplitHostPort(m.ListenHTTPS)
	if err != nil {
		d.add("HTTPS 服务", checkFail, "监听地址无效："+m.ListenHTTPS, "检查配置项 listen-https")
		return
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, port)
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	dialer := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} // compared with the file below
	conn, err := dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		d.add("HTTPS 服务", checkFail, fmt.Sprintf("https://%s 无应答（%v）", addr, err), "启动服务（sudo station service start）并查看日志")
		return
	}
	presented := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
	conn.Close()
	certFile := m.TLSCert
	if certFile == "" {
		certFile = filepath.Join(tlsDir(m.DataDir), lantls.ServerCertFile)
	}
	_, leaf, err := lantls.LoadKeyPair(certFile, m.tlsKeyFile())
	if err == nil && !leaf.Equal(presented) {
		d.add("HTTPS 服务", checkWarn, fmt.Sprintf("https://%s 使用的证书不是 %s 中的（序列号 %X）", addr, certFile, presented.SerialNumber), "等待 10 分钟让服务站换用，或 sudo systemctl restart station")
		return
	}
	d.add("HTTPS 服务", checkOK, fmt.Sprintf("https://%s 就绪，证书有效至 %s", addr, presented.NotAfter.Local().Format(time.DateOnly)), "")
}

// tlsKeyFile is the key of the certificate HTTPS presents.
func (m *Main) tlsKeyFile() string {
	if m.TLSKey != "" {
		return m.TLSKey
	}
	return filepath.Join(tlsDir(m.DataDir), lantls.ServerKeyFile)
}
