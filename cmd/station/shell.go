package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/argon2id"
	"github.com/civic-station/station/station/sqlite"
)

// What the tools a technician runs from the box's shell (`station user`, `audit`, `sync`, `cert`,
// `hub …`) share: their flags, opening the station database beside a running station, submitting
// commands in the console's name, reading a password and printing JSON.

// consoleActor is the actor of changes a technician makes from the box's shell.
var consoleActor = station.Actor{Username: "console", Role: station.RoleSystem}

// dataFlags returns a flag set with --data and, when asJSON is not nil, --json.
func dataFlags(name string, stderr io.Writer, asJSON *bool) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "./data", "数据目录")
	if asJSON != nil {
		fs.BoolVar(asJSON, "json", false, "以JSON输出")
	}
	return fs, dir
}

// openStationDB opens the station database in dir beside a running station, with a message a
// technician can act on when it is not there. Tools that only read pass sqlite.ReadOnly(); a tool
// that submits a command sends it through the log (consoleSubmit) and opens the database only to read.
func openStationDB(ctx context.Context, dir string, opts ...sqlite.Option) (*sqlite.DB, error) {
	path := filepath.Join(dir, "station.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("找不到数据库 %s：%w", path, err)
	}
	db, err := sqlite.Open(ctx, path, opts...)
	if err != nil {
		return nil, fmt.Errorf("打开数据库失败：%w", err)
	}
	return db, nil
}

// consoleSubmit submits a command in the name of the technician at the box's shell to the station in
// dataDir (submitFromShell).
func consoleSubmit(ctx context.Context, dataDir string, kind station.CommandKind, payload any) error {
	return consoleSubmitAs(ctx, dataDir, consoleActor, kind, payload)
}

// consoleSubmitAs is consoleSubmit with the console acting in another role.
func consoleSubmitAs(ctx context.Context, dataDir string, actor station.Actor, kind station.CommandKind, payload any) error {
	cmd, err := station.NewCommand(uuid.Must(uuid.NewV7()).String(), kind, time.Now(), actor, payload)
	if err != nil {
		return err
	}
	_, err = submitFromShell(ctx, dataDir, cmd)
	return err
}

// readPasswordHash reads a new account's password from stdin (one line, so that it appears in no
// process list or shell history), checks it against the password rules and hashes it with h. When
// it cannot, it says why on stderr and returns false.
func readPasswordHash(stdin io.Reader, h argon2id.Hasher, stderr io.Writer) (string, bool) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintf(stderr, "读取密码失败：%v\n", err)
		return "", false
	}
	password := strings.TrimRight(line, "\r\n")
	if err := station.ValidatePassword(password); err != nil {
		fmt.Fprintln(stderr, station.ErrorMessage(err))
		return "", false
	}
	hash, err := h.Hash(password)
	if err != nil {
		fmt.Fprintf(stderr, "计算密码哈希失败：%v\n", err)
		return "", false
	}
	return hash, true
}

// writeJSON prints v as indented JSON, without escaping HTML characters.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
