package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/civic-station/station/station/sqlite"
)

// auditCommand runs `station audit verify`. It opens the database read-only, so it can run beside a
// live station, and exits 1 when the chain is broken.
func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, "用法：station audit verify --data DIR [--json]\n")
		return 2
	}
	fs := flag.NewFlagSet("station audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "./data", "数据目录")
	asJSON := fs.Bool("json", false, "以JSON输出结果")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	db, err := openReadOnly(ctx, *dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	rep, err := db.VerifyAudit(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "校验失败：%v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else if rep.OK {
		fmt.Fprintf(stdout, "审计日志完好：共 %d 条记录，哈希链连续。\n", rep.Entries)
	} else {
		fmt.Fprintf(stdout, "审计日志已损坏：共 %d 条记录，第 %d 条起不可信。\n问题：%s\n", rep.Entries, rep.FirstBadSeq, rep.Problem)
	}
	if !rep.OK {
		return 1
	}
	return 0
}

// openReadOnly opens the station database in dir for reading beside a running station, with a
// message a technician can act on when it is not there.
func openReadOnly(ctx context.Context, dir string) (*sqlite.DB, error) {
	path := filepath.Join(dir, "station.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("找不到数据库 %s：%v", path, err)
	}
	db, err := sqlite.Open(ctx, path, sqlite.ReadOnly())
	if err != nil {
		return nil, fmt.Errorf("打开数据库失败：%v", err)
	}
	return db, nil
}
