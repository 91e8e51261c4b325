package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/civic-station/station/internal/bytesize"
	"github.com/civic-station/station/station/backup"
	"github.com/civic-station/station/station/datakey"
	"github.com/civic-station/station/station/sqlite"
)

// `station backup` and `station restore`: an online backup of a data directory into one encrypted
// archive (station/backup), and its restore into an empty or replaced data directory.

// backupSource is what a backup of dir holds: the database snapshot, every top-level file but the
// database's own files and the data key (certificate signing keys, the provisional station ID), the
// blobs but uploads in progress, the sync identity but its status file, and the station CA with its
// server certificate (tls: counter terminals trust that CA, so a restored box must keep it). The demo's in-process hub
// (dir/hub) is not part of the station.
func backupSource(ctx context.Context, dir string, db *sqlite.DB) (backup.Source, error) {
	src := backup.Source{
		Dir: dir, Database: "station.db", Snapshot: db.SnapshotTo,
		Trees:     []string{"blobs", "sync", "tls"},
		Addressed: []string{"blobs"},
		Skip:      []string{"blobs/tmp", "sync/status.json"},
		Version:   version,
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return src, err
	}
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "station.db") || n == "datakey" {
			continue
		}
		src.Files = append(src.Files, n)
	}
	if id, err := certStationID(dir); err == nil {
		src.Station = id
	}
	return src, nil
}

// loadExistingKey loads a data key without creating one (datakey.Load creates a missing key).
func loadExistingKey(path string) (*datakey.Key, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("找不到数据密钥 %s：%w", path, err)
	}
	return datakey.Load(path)
}

// progressReporter reports progress on w: a bar with bytes, rate and time left when w is a terminal,
// else a plain line at each tenth so that logs read well. done ends the bar.
func progressReporter(w io.Writer, verb string) (report func(backup.Progress), done func()) {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		return func(p backup.Progress) {
				if bar == nil && p.Total > 0 {
					bar = progressbar.NewOptions64(p.Total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(verb),
						progressbar.OptionShowBytes(true), progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(),
						progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionFullWidth())
				}
				if bar != nil {
					_ = bar.Set64(p.Done)
				}
			}, func() {
				if bar != nil {
					_ = bar.Finish()
					fmt.Fprintln(w)
				}
			}
	}
	next := int64(0)
	started := time.Now()
	return func(p backup.Progress) {
		if p.Total <= 0 {
			return
		}
		pct := p.Done * 100 / p.Total
		if pct < next && p.Done != p.Total {
			return
		}
		rate := float64(p.Done) / max(time.Since(started).Seconds(), 0.001)
		fmt.Fprintf(w, "%s %3d%%  %s / %s  %s/s\n", verb, pct, bytesize.Format(p.Done), bytesize.Format(p.Total), bytesize.Format(int64(rate)))
		next = pct/10*10 + 10
	}, func() {}
}

// readPassphrase reads a passphrase from a file ("-" for standard input): its first line.
func readPassphrase(path string, stdin io.Reader) ([]byte, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 4096))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("读取口令失败：%w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return []byte(strings.TrimRight(line, "\r")), nil
}

// dataDirFromConfig is the data directory `station run` would use, for the tools whose --data
// defaults to it.
func dataDirFromConfig() string {
	m := NewMain()
	fset := runFlags(m, io.Discard)
	apply := configFlag(fset, os.LookupEnv)
	if fset.Parse(nil) == nil {
		_, _, _ = apply()
	}
	return m.DataDir
}

func backupCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "verify" {
		return backupVerifyCommand(ctx, args[1:], stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("station backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", dataDirFromConfig(), "数据目录（默认取配置文件中的 data）")
	out := fs.String("to", "", "备份文件，如 /media/usb/station-20261207.stationbak（不可已存在）")
	passFile := fs.String("passphrase-file", "", "口令文件（- 为标准输入）：备份中附带用此口令加密的数据密钥；不给则备份不含密钥")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *out == "" {
		fmt.Fprintln(stderr, "用法：station backup [--data DIR] --to FILE [--passphrase-file F]；station backup verify FILE")
		return 2
	}
	key, err := loadExistingKey(filepath.Join(*dir, "datakey"))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var wrapped []byte
	if *passFile != "" {
		pass, err := readPassphrase(*passFile, stdin)
		if err == nil {
			wrapped, err = key.Wrap(pass)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	db, err := openStationDB(ctx, *dir, sqlite.ReadOnly())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	started := time.Now()
	report, finish := progressReporter(stderr, "备份")
	man, err := writeBackupFile(ctx, *dir, db, key, wrapped, *out, report)
	finish()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fi, _ := os.Stat(*out)
	keyNote := fmt.Sprintf("不含数据密钥：恢复时需要数据密钥文件（指纹 %s），请另行保管", man.Key)
	if man.KeyIncluded {
		keyNote = "附带用口令加密的数据密钥：凭口令或数据密钥文件均可恢复"
	}
	fmt.Fprintf(stdout, "已备份到 %s：%d 个文件，%s，用时 %s；%s\n",
		*out, len(man.Files), bytesize.Format(fi.Size()), time.Since(started).Round(10*time.Millisecond), keyNote)
	return 0
}

// writeBackupFile writes a backup of the data directory dir into out, which must not exist: under
// out.partial until it is complete and fsynced, then renamed, so a file under the final name is always
// a whole archive. report, when not nil, gets the progress. `station backup` and the scheduled backups
// share it.
func writeBackupFile(ctx context.Context, dir string, db *sqlite.DB, key *datakey.Key, wrapped []byte, out string, report func(backup.Progress)) (*backup.Manifest, error) {
	src, err := backupSource(ctx, dir, db)
	if err != nil {
		return nil, err
	}
	partial := out + ".partial"
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("无法创建备份文件：%w", err)
	}
	if _, err := os.Stat(out); err == nil {
		f.Close()
		os.Remove(partial)
		return nil, fmt.Errorf("备份文件 %s 已存在，请换一个文件名", out)
	}
	if report == nil {
		report = func(backup.Progress) {}
	}
	man, err := backup.Write(ctx, f, key, wrapped, src, report)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(partial, out)
	}
	if err != nil {
		os.Remove(partial)
		return nil, fmt.Errorf("备份失败（未留下备份文件）：%w", err)
	}
	syncDir(filepath.Dir(out))
	return man, nil
}

func restoreCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", dataDirFromConfig(), "要恢复到的数据目录（默认取配置文件中的 data）")
	from := fs.String("from", "", "备份文件")
	keyFile := fs.String("key", "", "数据密钥文件（默认为数据目录中的 datakey）")
	passFile := fs.String("passphrase-file", "", "口令文件（- 为标准输入）：用备份中附带的数据密钥恢复")
	replace := fs.Bool("replace", false, "数据目录已有数据时，先把它改名保留（DIR.before-restore-时间），再恢复")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *from == "" {
		fmt.Fprintln(stderr, "用法：station restore --from FILE [--data DIR] [--key FILE] [--replace]（先停止服务：station service stop）")
		return 2
	}
	target, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ar, key, keyBytes, closeArchive, err := openArchive(*from, *keyFile, *passFile, target, "恢复失败，未做任何改动", stdin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer closeArchive()
	occupied := false
	if ents, err := os.ReadDir(target); err == nil && len(ents) > 0 {
		occupied = true
		if !*replace {
			fmt.Fprintf(stderr, "数据目录 %s 已有数据；确认要用备份替换时加 --replace（原目录会改名保留，不会删除）\n", target)
			return 1
		}
		if stationAnswers(ctx, target) {
			fmt.Fprintln(stderr, "服务站仍在运行，请先停止：station service stop")
			return 1
		}
	}
	// Extract beside the target, check, then swap: the target is never half restored.
	staging := target + ".restoring"
	if err := os.RemoveAll(staging); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	report, finish := progressReporter(stderr, "恢复")
	man, err := ar.Extract(ctx, key, staging, report)
	finish()
	if err != nil {
		os.RemoveAll(staging)
		fmt.Fprintln(stderr, archiveError(err, "恢复失败，未做任何改动"))
		return 1
	}
	if err := os.WriteFile(filepath.Join(staging, "datakey"), keyBytes, 0o600); err != nil {
		os.RemoveAll(staging)
		fmt.Fprintln(stderr, err)
		return 1
	}
	if msg := checkRestored(ctx, staging); msg != "" {
		os.RemoveAll(staging)
		fmt.Fprintln(stderr, msg)
		return 1
	}
	if err := copyOwner(target, staging); err != nil {
		os.RemoveAll(staging)
		fmt.Fprintln(stderr, err)
		return 1
	}
	kept := ""
	if occupied {
		kept = fmt.Sprintf("%s.before-restore-%s", target, time.Now().Format("20060102-150405"))
		if err := os.Rename(target, kept); err != nil {
			os.RemoveAll(staging)
			fmt.Fprintln(stderr, err)
			return 1
		}
	} else {
		os.Remove(target) // an empty directory
	}
	if err := os.Rename(staging, target); err != nil {
		fmt.Fprintf(stderr, "替换数据目录失败：%v（恢复的数据在 %s）\n", err, staging)
		return 1
	}
	syncDir(filepath.Dir(target))
	fmt.Fprintf(stdout, "已从 %s 恢复到 %s：%d 个文件，备份于 %s", *from, target, len(man.Files), man.CreatedAt.Local().Format("2006-01-02 15:04:05"))
	if kept != "" {
		fmt.Fprintf(stdout, "；原数据保留在 %s", kept)
	}
	fmt.Fprintln(stdout, "。启动：station service start")
	return 0
}

// openArchive opens the backup at path and finds the key it needs: keyFile, the key sealed in it under
// the passphrase in passFile, or else dir's own data key. what starts the message of a damaged archive
// ("校验失败"). The caller calls closeArchive when done.
func openArchive(path, keyFile, passFile, dir, what string, stdin io.Reader) (ar *backup.Reader, key *datakey.Key, keyBytes []byte, closeArchive func(), err error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if ar, err = backup.Open(bufio.NewReaderSize(in, 1<<20)); err != nil {
		in.Close()
		return nil, nil, nil, nil, errors.New(archiveError(err, what))
	}
	if keyFile == "" && passFile == "" {
		keyFile = filepath.Join(dir, "datakey")
	}
	if key, keyBytes, err = archiveKey(ar, keyFile, passFile, stdin); err != nil {
		in.Close()
		return nil, nil, nil, nil, err
	}
	return ar, key, keyBytes, func() { in.Close() }, nil
}

// archiveKey finds the data key an archive needs: the key file, or the key the archive carries sealed
// under the passphrase in passFile. It returns the key and its file's contents.
func archiveKey(ar *backup.Reader, keyFile, passFile string, stdin io.Reader) (*datakey.Key, []byte, error) {
	if passFile != "" {
		if len(ar.WrappedKey) == 0 {
			return nil, nil, errors.New("这份备份不含数据密钥，请用 --key 指定数据密钥文件")
		}
		pass, err := readPassphrase(passFile, stdin)
		if err != nil {
			return nil, nil, err
		}
		key, file, err := datakey.Unwrap(ar.WrappedKey, pass)
		if err != nil {
			return nil, nil, errors.New("口令不对，或备份中的数据密钥已损坏")
		}
		return key, file, nil
	}
	key, err := loadExistingKey(keyFile)
	if err != nil {
		if len(ar.WrappedKey) > 0 {
			return nil, nil, fmt.Errorf("%v；这份备份附带了加密的数据密钥，可用 --passphrase-file 给出口令", err)
		}
		return nil, nil, err
	}
	file, err := os.ReadFile(keyFile)
	return key, file, err
}

// archiveError says in Chinese what went wrong with an archive.
func archiveError(err error, what string) string {
	switch {
	case errors.Is(err, backup.ErrWrongKey):
		return fmt.Sprintf("数据密钥不对：这份备份需要另一把数据密钥（%v）", err)
	case errors.Is(err, backup.ErrDamagedBlob):
		return fmt.Sprintf("备份中有文件在备份前已在服务站磁盘上损坏（内容与其编号不符），%s：%v", strings.TrimPrefix(what, "恢复失败，"), err)
	case errors.Is(err, backup.ErrCorrupt):
		return fmt.Sprintf("备份文件已损坏或不完整，%s：%v", strings.TrimPrefix(what, "恢复失败，"), err)
	}
	return fmt.Sprintf("%s：%v", what, err)
}

// backupVerifyCommand is `station backup verify FILE [--key F | --passphrase-file F] [--data DIR]`.
func backupVerifyCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station backup verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", dataDirFromConfig(), "数据目录（其中的 datakey 为默认密钥）")
	keyFile := fs.String("key", "", "数据密钥文件")
	passFile := fs.String("passphrase-file", "", "口令文件（- 为标准输入）")
	file := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" {
		fmt.Fprintln(stderr, "用法：station backup verify FILE [--key F | --passphrase-file F]")
		return 2
	}
	ar, key, _, closeArchive, err := openArchive(file, *keyFile, *passFile, *dir, "校验失败", stdin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer closeArchive()
	report, finish := progressReporter(stderr, "校验")
	man, err := ar.Verify(ctx, key, report)
	finish()
	if err != nil {
		fmt.Fprintln(stderr, archiveError(err, "校验失败"))
		return 1
	}
	fmt.Fprintf(stdout, "备份完好：%d 个文件，%s，备份于 %s（站点 %s，版本 %s）\n", len(man.Files), bytesize.Format(man.Bytes),
		man.CreatedAt.Local().Format("2006-01-02 15:04:05"), man.Station, man.Version)
	return 0
}

// checkRestored opens the restored database and checks its integrity and audit chain; "" when sound.
func checkRestored(ctx context.Context, dir string) string {
	db, err := openStationDB(ctx, dir, sqlite.ReadOnly())
	if err != nil {
		return "恢复的数据库无法打开：" + err.Error()
	}
	defer db.Close()
	if res, err := db.IntegrityCheck(ctx); err != nil || res != "ok" {
		return fmt.Sprintf("恢复的数据库完整性检查未通过：%v %s", err, res)
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || !rep.OK {
		return fmt.Sprintf("恢复的审计日志校验未通过：%v %s", err, rep.Problem)
	}
	return ""
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// stationAnswers reports whether the configured station — when its data directory is dir — answers
// on its address, which is how restore tells that the service still runs on the directory it would
// replace.
func stationAnswers(ctx context.Context, dir string) bool {
	m := NewMain()
	fset := runFlags(m, io.Discard)
	apply := configFlag(fset, os.LookupEnv)
	if fset.Parse(nil) != nil {
		return false
	}
	if _, _, err := apply(); err != nil {
		return false
	}
	if abs, err := filepath.Abs(m.DataDir); err != nil || abs != dir {
		return false
	}
	d := &doctor{m: m, now: time.Now}
	d.checkHTTP(ctx)
	return len(d.results) == 1 && d.results[0].Status == checkOK
}
