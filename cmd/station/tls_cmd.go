package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civic-station/station/station/lantls"
)

const tlsHelp = `用法：
  station tls show  [--config FILE]   本站根证书（柜台电脑安装的那个）的路径和 SHA-256 指纹，服务器证书的名称和有效期
  station tls renew [--config FILE]   立即重新签发服务器证书（本机名称或地址变了、证书将到期时；根证书不变，柜台电脑无需重装）
                                      运行中的服务站 10 分钟内换用新证书
`

// tlsCommand is `station tls show|renew`.
func tlsCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tlsHelp)
		return 2
	}
	switch {
	case isHelp(args) || isHelp(args[1:]):
		fmt.Fprint(stdout, tlsHelp)
		return 0
	case args[0] != "show" && args[0] != "renew":
		fmt.Fprintf(stderr, "未知的子命令 tls %q\n\n%s", args[0], tlsHelp)
		return 2
	}
	m := NewMain()
	fset := runFlags(m, stderr)
	apply := configFlag(fset, os.LookupEnv)
	if err := fset.Parse(args[1:]); err != nil {
		return flagExit(err)
	}
	path, src, err := apply()
	if err != nil {
		fmt.Fprintf(stderr, "配置错误（%s）：\n%v\n", path, err)
		return 2
	}
	m.applyDemoDefaults(src)
	if m.TLSCert != "" {
		fmt.Fprintf(stdout, "本站使用自备证书 %s（私钥 %s），没有本站根证书；换发请找该证书的签发方。\n", m.TLSCert, m.TLSKey)
		if args[0] == "renew" {
			return 1
		}
		if _, leaf, err := lantls.LoadKeyPair(m.TLSCert, m.TLSKey); err == nil {
			printLeaf(stdout, leaf)
		}
		return 0
	}
	dir := tlsDir(m.DataDir)
	if args[0] == "renew" {
		return tlsRenew(m, dir, stdout, stderr)
	}
	ca, _, err := lantls.LoadCA(dir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "本站根证书尚未生成：%s 不存在（station run 首次启动时生成）\n", filepath.Join(dir, lantls.CACertFile))
		return 1
	} else if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "本站根证书 %s\n  名称        %s\n  SHA-256 指纹 %s\n  有效期至    %s\n",
		filepath.Join(dir, lantls.CACertFile), ca.Subject.String(), lantls.Fingerprint(ca), ca.NotAfter.Local().Format(time.DateOnly))
	fmt.Fprintf(stdout, "柜台电脑：在 %s/setup 下载本站证书，核对指纹与上面一致后安装为受信任的根证书。\n", m.lanBaseURL())
	if _, leaf, err := lantls.LoadKeyPair(filepath.Join(dir, lantls.ServerCertFile), filepath.Join(dir, lantls.ServerKeyFile)); err == nil {
		printLeaf(stdout, leaf)
	} else {
		fmt.Fprintf(stdout, "服务器证书：无法载入（%v）；station tls renew 重新签发\n", err)
	}
	return 0
}

func printLeaf(w io.Writer, leaf *x509.Certificate) {
	fmt.Fprintf(w, "服务器证书（序列号 %X）\n  名称和地址  %s\n  有效期至    %s\n", leaf.SerialNumber, strings.Join(lantls.CertNames(leaf), "、"), leaf.NotAfter.Local().Format(time.DateOnly))
}

// tlsRenew reissues the server certificate from the station CA for the box's names now. Run as root,
// it gives the files to the data directory's owner, so that the station's user can still read them.
func tlsRenew(m *Main, dir string, stdout, stderr io.Writer) int {
	if _, _, err := lantls.LoadCA(dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "本站根证书尚未生成：%s 不存在（station run 首次启动时生成）\n", filepath.Join(dir, lantls.CACertFile))
		return 1
	}
	m.Now = time.Now
	st, err := lantls.Ensure(m.tlsOptions(true))
	if err != nil {
		fmt.Fprintf(stderr, "重新签发失败：%v\n", err)
		return 1
	}
	if err := copyOwner(m.DataDir, dir); err != nil {
		fmt.Fprintf(stderr, "已签发，但无法把 %s 交给数据目录的属主：%v\n", dir, err)
		return 1
	}
	fmt.Fprintf(stdout, "已重新签发服务器证书 %s\n", filepath.Join(dir, lantls.ServerCertFile))
	printLeaf(stdout, st.Leaf)
	fmt.Fprintln(stdout, "根证书不变，柜台电脑无需重装；运行中的服务站 10 分钟内换用（立即生效：sudo systemctl restart station）。")
	return 0
}
