package main

import (
	"context"
	"fmt"
	"io"

	"github.com/civic-station/station/station/sqlite"
)

// auditCommand runs `station audit verify`. It opens the database read-only, so it can run beside a
// live station, and exits 1 when the chain is broken.
func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "用法：station audit verify --data DIR [--json]\n"
	if isHelp(args) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var asJSON bool
	fs, dir := dataFlags("station audit verify", stderr, &asJSON)
	if err := fs.Parse(args[1:]); err != nil {
		return flagExit(err)
	}
	db, err := openStationDB(ctx, *dir, sqlite.ReadOnly())
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
	if asJSON {
		writeJSON(stdout, rep)
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
