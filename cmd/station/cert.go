package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"

	"github.com/civic-station/station/internal/atomicfile"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/cert"
	"github.com/civic-station/station/station/issue"
	"github.com/civic-station/station/station/sqlite"
	"github.com/civic-station/station/syncer"
)

// Certificates (社区证明) in the running station: the issuing service, the signing key in
// DATA/cert-signing.pem and its publication to the data center, and `station cert …`.

// Files in the data directory.
const (
	certKeyFile     = "cert-signing.pem" // the station's private signing key (PKCS #8 PEM, 0600)
	certStationFile = "cert-station-id"  // the provisional station ID certificates carry before enrollment
)

// Demo station details printed on certificates.
const (
	demoCommunity      = "幸福社区"
	demoStationAddress = "吉林省长春市朝阳区红旗街道幸福社区综合服务中心"
	demoStationPhone   = "0431-85551234"
)

// registerCertFlags adds the certificate flags of `station run`.
func (m *Main) registerCertFlags(fs *flag.FlagSet) {
	fs.StringVar(&m.Community, "community", "", "本站所在社区（打印在证明的落款和印章上，如 幸福社区）")
	fs.Var(checkedString{&m.CertAlgorithm, func(v string) error { _, err := cert.ParseAlgorithm(v); return err }}, "cert-algorithm", "证明二维码签名算法：ed25519（默认）或 sm2")
}

// certStation returns what certificates print about the station: the name it enrolled under, else
// the one the first-run setup stored (the demo's in demo mode); the community of --community, else
// the stored one; and in demo mode an address and phone.
func (m *Main) certStation(ctx context.Context) (cert.StationInfo, error) {
	var info cert.StationInfo
	if m.DB != nil { // nil before Run opens the store
		stored, err := m.DB.Settings(ctx)
		if err != nil {
			return cert.StationInfo{}, err
		}
		info = cert.StationInfo{Name: stored.Name, Community: stored.Community}
	}
	if m.Demo {
		info = cert.StationInfo{Name: demoStationName, Community: demoCommunity, Address: demoStationAddress, Phone: demoStationPhone}
	}
	if m.Community != "" {
		info.Community = m.Community
	}
	if id, err := syncer.LoadIdentity(m.DataDir); err == nil && id.StationName != "" {
		info.Name = id.StationName
	}
	if info.Name == "" {
		info.Name = info.Community + "便民服务站"
		if info.Community == "" {
			info.Name = "社区便民服务站"
		}
	}
	return info, nil
}

// newCertificates builds the issuing service (printer is nil without an A4 printer); startCertificates
// gives it its key.
func (m *Main) newCertificates(ctx context.Context, printer issue.Printer) error {
	printerName := m.DocumentPrinter
	if m.Demo {
		printerName = "演示A4打印机"
	}
	info, err := m.certStation(ctx)
	if err != nil {
		return err
	}
	svc, err := issue.New(issue.Config{Store: m.DB, Log: m.Log, Blobs: m.Disk.Blobs(m.Blobs), Printer: printer,
		PrinterName: printerName, Station: info, Sealer: m.Key, Now: m.Now, Logger: m.Logger.With("component", "certificates")})
	if err != nil {
		return err
	}
	m.Certs = svc
	return nil
}

// certStationID returns the ID certificates name as their issuing station: the data center's ID once
// enrolled, else a provisional ID kept in the data directory.
func certStationID(dataDir string) (string, error) {
	id, err := syncer.LoadIdentity(dataDir)
	if err == nil {
		return id.StationID, nil
	} else if !errors.Is(err, syncer.ErrNotEnrolled) {
		return "", err
	}
	path := filepath.Join(dataDir, certStationFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	provisional := uuid.Must(uuid.NewV7()).String()
	if err := atomicfile.WriteFile(path, []byte(provisional+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return provisional, nil
}

// startCertificates loads (or creates) the station's signing key, gives it to the issuing service and
// publishes it once: the station's own key ring holds it, and the record carries it to the data
// center, which distributes it to every station. When the station's ID changed since the key was
// published (a station that issued certificates before it enrolled), the key stays in the ring for
// those certificates, is kept as cert-signing-<old ID>.pem, and a new key is made for the new ID.
func (m *Main) startCertificates(ctx context.Context) error {
	alg, err := cert.ParseAlgorithm(m.CertAlgorithm)
	if err != nil {
		return err
	}
	stationID, err := certStationID(m.DataDir)
	if err != nil {
		return err
	}
	path := filepath.Join(m.DataDir, certKeyFile)
	signer, err := cert.LoadOrCreateSigner(path, alg, stationID)
	if err != nil {
		return err
	}
	held, err := m.DB.SigningKey(ctx, signer.PublicKey().KeyID)
	if err == nil && held.Own && held.StationID != stationID {
		old := filepath.Join(m.DataDir, "cert-signing-"+held.StationID+".pem")
		if err := os.Rename(path, old); err != nil {
			return fmt.Errorf("keep the signing key of station %s: %w", held.StationID, err)
		}
		if signer, err = cert.LoadOrCreateSigner(path, alg, stationID); err != nil {
			return err
		}
		m.Logger.Info("new certificate signing key for the station's new ID", "old_station", held.StationID, "station", stationID)
	} else if err != nil && station.ErrorCode(err) != station.ENOTFOUND {
		return err
	}
	m.Certs.SetSigner(signer)
	published, err := m.Certs.PublishKey(ctx, systemActor)
	if err != nil {
		return fmt.Errorf("publish the certificate signing key: %w", err)
	}
	if published {
		m.Logger.Info("certificate signing key published", "key", signer.PublicKey().KeyID, "algorithm", string(alg), "station", stationID)
	}
	return nil
}

const certUsage = `用法：
  station cert verify PAYLOAD [--data DIR] [--json]   离线核验证明二维码（真实有效时退出码为0，否则为1）
  station cert list [--data DIR] [--status 状态] [--json]  本站开具的证明
  station cert revoke ID --reason 原因 [--data DIR]    撤销证明（记入审计日志并上报数据中心）
  station cert key [--data DIR]                         显示本站的证明签名公钥（PEM）
`

// certCommand runs `station cert …`.
func certCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if isHelp(args) {
		fmt.Fprint(stdout, certUsage)
		return 0
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, certUsage)
		return 2
	}
	var asJSON bool
	fs, dir := dataFlags("station cert "+args[0], stderr, &asJSON)
	reason := fs.String("reason", "", "撤销原因（revoke）")
	status := fs.String("status", "", "按状态筛选（list）")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return flagExit(err)
	}
	switch {
	case args[0] == "verify" && len(pos) == 1:
		return certVerify(ctx, *dir, pos[0], asJSON, stdout, stderr)
	case args[0] == "list" && len(pos) == 0:
		return certList(ctx, *dir, station.CertStatus(*status), asJSON, stdout, stderr)
	case args[0] == "revoke" && len(pos) == 1:
		return certRevoke(ctx, *dir, pos[0], *reason, stdout, stderr)
	case args[0] == "key" && len(pos) == 0:
		return certKey(ctx, *dir, stdout, stderr)
	}
	fmt.Fprint(stderr, certUsage)
	return 2
}

// parseInterspersed parses flags that may come before or after the positional arguments, and returns
// the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// certVerify verifies a payload offline with the key ring and the records in the data directory.
func certVerify(ctx context.Context, dir, payload string, asJSON bool, stdout, stderr io.Writer) int {
	db, err := openStationDB(ctx, dir, sqlite.ReadOnly())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	v, err := issue.Verify(ctx, strings.TrimSpace(payload), db, cert.BuiltIn())
	if err != nil {
		fmt.Fprintf(stderr, "核验失败：%v\n", err)
		return 1
	}
	if asJSON {
		writeJSON(stdout, v)
	} else {
		printVerification(stdout, v)
	}
	if v.Status != station.VerifyValid {
		return 1
	}
	return 0
}

func printVerification(w io.Writer, v station.CertificateVerification) {
	headline := map[string]string{station.VerifyValid: "真实有效", station.VerifyRevoked: "已撤销", station.VerifyVoided: "已作废"}[v.Status]
	if headline == "" {
		headline = "无法核验"
	}
	fmt.Fprintf(w, "%s（%s）\n%s\n", headline, v.ReasonCode, v.Message)
	if !v.Genuine {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	name := v.TypeName
	if name == "" {
		name = v.TypeCode
	}
	fmt.Fprintf(tw, "证明类型\t%s（%s）\n证明对象\t%s %s\n", name, v.TypeCode, v.SubjectName, v.SubjectID)
	fmt.Fprintf(tw, "开具单位\t%s %s\n开具日期\t%s\n", v.StationName, v.StationID, cert.FormatDate(*v.IssueDate))
	if v.ValidUntil != nil {
		fmt.Fprintf(tw, "有效期至\t%s\n", cert.FormatDate(*v.ValidUntil))
	}
	if v.Reason != "" {
		fmt.Fprintf(tw, "原因\t%s\n", v.Reason)
	}
	_ = tw.Flush()
}

func certList(ctx context.Context, dir string, status station.CertStatus, asJSON bool, stdout, stderr io.Writer) int {
	if status != "" && !status.Valid() {
		fmt.Fprintf(stderr, "状态 %q 无效\n", status)
		return 2
	}
	db, err := openStationDB(ctx, dir, sqlite.ReadOnly())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	items, total, err := db.Certificates(ctx, station.CertificateFilter{Status: status, Limit: 100})
	if err != nil {
		fmt.Fprintf(stderr, "读取证明失败：%v\n", err)
		return 1
	}
	if asJSON {
		// Without the printed text: it holds the resident's name in full.
		for i := range items {
			items[i].Text, items[i].Inputs = station.CertificateText{}, nil
		}
		writeJSON(stdout, struct {
			Items []station.Certificate `json:"items"`
			Total int                   `json:"total"`
		}{items, total})
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "编号\t证明\t状态\t对象\t开具日期\t打印次数\t证明ID")
	for _, c := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", c.Serial, c.TypeName, c.Status.Label(), c.SubjectNameMasked, c.IssueDate, c.PrintCount, c.ID)
	}
	_ = tw.Flush()
	if total > len(items) {
		fmt.Fprintf(stdout, "（共 %d 份，显示最近 %d 份）\n", total, len(items))
	}
	return 0
}

// certRevoke revokes a certificate from the box's shell; it works while the station runs.
func certRevoke(ctx context.Context, dir, id, reason string, stdout, stderr io.Writer) int {
	if strings.TrimSpace(reason) == "" {
		fmt.Fprint(stderr, "缺少 --reason\n\n"+certUsage)
		return 2
	}
	db, err := openStationDB(ctx, dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	if err := consoleSubmit(ctx, dir, station.CmdCertificateRevoke, station.CertificateRevoke{CertificateID: id, Reason: reason}); err != nil {
		fmt.Fprintf(stderr, "撤销失败：%s\n", station.ErrorMessage(err))
		return 1
	}
	c, err := db.Certificate(ctx, id)
	if err != nil {
		fmt.Fprintln(stderr, station.ErrorMessage(err))
		return 1
	}
	fmt.Fprintf(stdout, "已撤销证明 %s（%s），记录将上报数据中心。\n", c.Serial, c.TypeName)
	return 0
}

// certKey prints the station's current public signing key as PEM.
func certKey(ctx context.Context, dir string, stdout, stderr io.Writer) int {
	db, err := openStationDB(ctx, dir, sqlite.ReadOnly())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	keys, err := db.SigningKeys(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "读取签名公钥失败：%v\n", err)
		return 1
	}
	var own *station.SigningKeyInfo
	for i := range keys {
		if keys[i].Own {
			own = &keys[i] // the latest added is the one in use
		}
	}
	if own == nil {
		fmt.Fprintln(stderr, "本站尚无证明签名密钥：station run 首次启动时生成。")
		return 1
	}
	pk, err := cert.NewPublicKey(own.StationID, own.PublicKey)
	if err != nil {
		fmt.Fprintf(stderr, "签名公钥无效：%v\n", err)
		return 1
	}
	// The PEM alone on standard output, so that it can go straight to a file or openssl.
	fmt.Fprintf(stderr, "服务站 %s（%s），算法 %s，密钥编号 %s\n", own.StationID, own.StationName, pk.Algorithm, pk.KeyID)
	if _, err := stdout.Write(pk.PEM()); err != nil {
		return 1
	}
	return 0
}
