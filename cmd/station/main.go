// Command station is the community service station appliance: `station run` serves the API and the
// UIs from a data directory; the other subcommands are the technician's tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `用法：
  station run [--data DIR] [--listen-https HOST:PORT] [--demo]  启动服务站（局域网 HTTPS；参数也可写在 /etc/station/station.toml）
  station backup [--data DIR] --to FILE [--passphrase-file F]  在线备份（运行中也可），加密为一个文件；station backup verify FILE 校验
  station restore --from FILE [--data DIR] [--key F | --passphrase-file F] [--replace]  从备份恢复（先停止服务）
  station doctor [--config FILE] [--json]                  逐项检查本机：配置、数据目录、密钥、数据库、审计、磁盘、服务、设备、同步
  station service install|uninstall|start|stop|restart|status  安装为系统服务（systemd / Windows 服务）及启停
  station kiosk install|uninstall|unit                     自助终端屏幕：tty1 上 cage 全屏运行 Chromium（屏幕设置见配置文件 kiosk-*）
  station config example|check|show [--config FILE]       示例配置文件、检查配置、显示生效的配置
  station audit verify --data DIR [--json]                 校验审计日志哈希链
  station cert verify|list|revoke|key …                    证明核验、列表、撤销、签名公钥（station cert 查看用法）
  station cluster status|join-code|join|promote|demote|remove  本站多台设备组成的集群（station cluster 查看用法）
  station tls show|renew [--config FILE]                   HTTPS：本站根证书的路径和指纹；立即重新签发服务器证书
  station setup code [--data DIR]                          生成新的首次设置码（局域网内的电脑打开 /setup 时输入）
  station user add --data DIR --username NAME --role ROLE  新建工作人员账号（密码从标准输入读取）
  station devices list|test …                              检查读卡器、打印机、高拍仪（station devices 查看用法）
  station simulate idreader|printer|ipp …                  设备模拟器（station simulate 查看用法）
  station enroll --hub URL --token T [--data DIR]          向数据中心登记本站
  station sync status [--data DIR] [--json]                同步状态
  station hub [--data DIR] [--listen ADDR] [--db URL]      运行数据中心（station hub token create … 等）
  station version                                          显示版本
`

// run dispatches a subcommand and returns the process exit code: 0 on success, 1 on failure, 2 on a
// usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCommand(ctx, args[1:], stdout, stderr)
	case "backup":
		return backupCommand(ctx, args[1:], stdin, stdout, stderr)
	case "restore":
		return restoreCommand(ctx, args[1:], stdin, stdout, stderr)
	case "doctor":
		return doctorCommand(ctx, args[1:], stdout, stderr)
	case "service":
		return serviceCommand(args[1:], stdout, stderr)
	case "kiosk":
		return kioskCommand(ctx, args[1:], stdout, stderr)
	case "config":
		return configCommand(args[1:], stdout, stderr)
	case "user":
		return userCommand(ctx, args[1:], stdin, stdout, stderr)
	case "devices":
		return devicesCommand(ctx, args[1:], stdout, stderr)
	case "simulate":
		return simulateCommand(ctx, args[1:], stdout, stderr)
	case "setup":
		return setupCommand(ctx, args[1:], stdout, stderr)
	case "enroll":
		return enrollCommand(ctx, args[1:], stdout, stderr)
	case "sync":
		return syncCommand(ctx, args[1:], stdout, stderr)
	case "hub":
		return hubCommand(ctx, args[1:], stdin, stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], stdout, stderr)
	case "cert":
		return certCommand(ctx, args[1:], stdout, stderr)
	case "tls":
		return tlsCommand(args[1:], stdout, stderr)
	case "cluster":
		return clusterCommand(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		return versionCommand(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "未知的子命令 %q\n\n%s", args[0], usage)
	return 2
}

// flagExit returns the exit code of a subcommand whose flags did not parse: 0 when -h or --help asked
// for the usage (which the flag set has printed), 2 for a usage error. Every subcommand uses it.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// isHelp reports whether a command's first argument asks for its usage (help, -h, -help, --help).
func isHelp(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}
