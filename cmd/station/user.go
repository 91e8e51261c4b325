package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/argon2id"
	"github.com/civic-station/station/station/sqlite"
)

// userCommand runs `station user add|update|unlock`. Add creates a staff account from the box's shell,
// which is how a real station gets its first administrator; the password is read from standard input
// (one line) so it appears in no process list or shell history. Update changes an account's role or
// disables it, and unlock lifts a lockout; each is a command on the write path, audited, with the same
// rules as the API (the last station administrator stays). All work while the station runs.
func userCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const usage = `用法：
  station user add --data DIR --username NAME --role staff|reviewer|station_admin|technician [--display-name 名称] < 密码
  station user update --data DIR --username NAME [--role ROLE] [--disable | --enable]
  station user unlock --data DIR --username NAME
`
	if isHelp(args) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) > 0 && (args[0] == "update" || args[0] == "unlock") {
		return userUpdateCommand(ctx, args[0], args[1:], stdout, stderr, usage)
	}
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs, dir := dataFlags("station user add", stderr, nil)
	username := fs.String("username", "", "用户名")
	role := fs.String("role", "", "角色")
	display := fs.String("display-name", "", "显示名称（默认同用户名）")
	if err := fs.Parse(args[1:]); err != nil {
		return flagExit(err)
	}
	if *username == "" || *role == "" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if *display == "" {
		*display = *username
	}
	if err := station.ValidateUsername(*username); err != nil {
		fmt.Fprintln(stderr, station.ErrorMessage(err))
		return 2
	}
	if !station.Role(*role).IsStaffRole() {
		fmt.Fprintf(stderr, "角色 %q 无效\n%s", *role, usage)
		return 2
	}
	hash, ok := readPasswordHash(stdin, argon2id.Hasher{}, stderr)
	if !ok {
		return 1
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "创建数据目录失败：%v\n", err)
		return 1
	}
	db, err := sqlite.Open(ctx, filepath.Join(*dir, "station.db"))
	if err != nil {
		fmt.Fprintf(stderr, "打开数据库失败：%v\n", err)
		return 1
	}
	defer db.Close()
	u := station.UserCreate{Username: *username, DisplayName: *display, Role: station.Role(*role), PasswordHash: hash}
	if err := consoleSubmit(ctx, *dir, station.CmdUserCreate, u); err != nil {
		fmt.Fprintf(stderr, "创建账号失败：%s\n", station.ErrorMessage(err))
		return 1
	}
	fmt.Fprintf(stdout, "已创建账号 %s（%s）。\n", *username, station.Role(*role).Label())
	return 0
}

// userUpdateCommand is `station user update` and `station user unlock`.
func userUpdateCommand(ctx context.Context, what string, args []string, stdout, stderr io.Writer, usage string) int {
	fs, dir := dataFlags("station user "+what, stderr, nil)
	username := fs.String("username", "", "用户名")
	role := fs.String("role", "", "新角色")
	disable := fs.Bool("disable", false, "停用账号")
	enable := fs.Bool("enable", false, "启用账号")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	u := station.UserUpdate{Username: *username, Unlock: what == "unlock"}
	if *role != "" {
		r := station.Role(*role)
		u.Role = &r
	}
	if *disable || *enable {
		d := *disable
		u.Disabled = &d
	}
	if *username == "" || (*disable && *enable) || (what == "update" && u.Role == nil && u.Disabled == nil) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	db, err := openStationDB(ctx, *dir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	if err := consoleSubmit(ctx, *dir, station.CmdUserUpdate, u); err != nil {
		fmt.Fprintf(stderr, "修改账号失败：%s\n", station.ErrorMessage(err))
		return 1
	}
	fmt.Fprintf(stdout, "已修改账号 %s。\n", *username)
	return 0
}
