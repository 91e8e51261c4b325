package main

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civic-station/station/station/argon2id"
)

// TestHubConsoleAccounts runs the administrator's path with the real commands: add console accounts
// from the shell while the hub runs, sign in to its console, and verify the console's audit log, which
// then detects an edited entry.
func TestHubConsoleAccounts(t *testing.T) {
	ctx := context.Background()
	h := NewHubMain()
	h.DataDir, h.Listen, h.Console = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	h.Hasher = argon2id.Hasher{Params: argon2id.TestParams}
	h.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	hubRun := func(stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		code := run(ctx, append(append([]string{"hub"}, args...), "--data", h.DataDir), strings.NewReader(stdin), &out, &out)
		return code, out.String()
	}
	for _, c := range []struct {
		name, stdin string
		args        []string
		code        int
		out         string
	}{
		{"a clerk", "correct horse battery\n", []string{"user", "add", "--username", "minzheng", "--role", "clerk", "--department", "区民政局", "--display-name", "民政审批"}, 0, "区民政局"},
		{"the administrator", "correct horse battery\n", []string{"user", "add", "--username", "cityadmin", "--role", "admin"}, 0, "市级管理员"},
		{"the same username again", "correct horse battery\n", []string{"user", "add", "--username", "minzheng", "--role", "clerk", "--department", "区民政局"}, 1, "已存在"},
		{"a clerk without a department", "correct horse battery\n", []string{"user", "add", "--username", "nodept", "--role", "clerk"}, 2, "部门"},
		{"an administrator with a department", "correct horse battery\n", []string{"user", "add", "--username", "admin2", "--role", "admin", "--department", "区民政局"}, 2, "部门"},
		{"an unknown role", "correct horse battery\n", []string{"user", "add", "--username", "mayor", "--role", "mayor"}, 2, "角色"},
		{"a short password", "short\n", []string{"user", "add", "--username", "lina", "--role", "admin"}, 1, "密码长度"},
	} {
		if code, out := hubRun(c.stdin, c.args...); code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%s: exit %d %q, want %d with %q", c.name, code, out, c.code, c.out)
		}
	}
	if code, out := hubRun("", "users"); code != 0 || !strings.Contains(out, "minzheng") || !strings.Contains(out, "cityadmin") || strings.Contains(out, "lina") {
		t.Errorf("users: %d %s", code, out)
	}

	resp, err := http.Post(h.ConsoleServer.URL()+"/console/api/sessions", "application/json",
		strings.NewReader(`{"username":"minzheng","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("console login with the new account: %d", resp.StatusCode)
	}
	if code, out := hubRun("", "audit", "verify"); code != 0 || !strings.Contains(out, "共 1 条") {
		t.Fatalf("audit verify: %d %s", code, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(h.DataDir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_log SET actor = 'someone' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	if code, out := hubRun("", "audit", "verify"); code != 1 || !strings.Contains(out, "篡改") {
		t.Errorf("audit verify after an edit: %d %s", code, out)
	}
}
