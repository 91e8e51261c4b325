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

// userCommand runs `station user add`: it creates a staff account from the box's shell, which is how
// a real station gets its first administrator. The password is read from standard input (one line) so
// it appears in no process list or shell history. It works while the station runs.
func userCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const usage = "用法：station user add --data DIR --username NAME --role staff|reviewer|station_admin|technician [--display-name 名称] < 密码\n"
	if isHelp(args) {
		fmt.Fprint(stdout, usage)
		return 0
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
	if err := consoleSubmit(ctx, db, station.CmdUserCreate, u); err != nil {
		fmt.Fprintf(stderr, "创建账号失败：%s\n", station.ErrorMessage(err))
		return 1
	}
	fmt.Fprintf(stdout, "已创建账号 %s（%s）。\n", *username, station.Role(*role).Label())
	return 0
}
