package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer/hub"
)

// hubConsoleTool runs the department console's tools: `station hub user add`, `station hub users` and
// `station hub audit verify`. They open the hub's store and work beside a running hub.
func hubConsoleTool(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch {
	case isHelp(args[1:]):
		fmt.Fprint(stdout, hubUsage)
		return 0
	case args[0] == "user" && len(args) > 1 && args[1] == "add":
		return hubUserAdd(ctx, args[2:], stdin, stdout, stderr)
	case args[0] == "users":
		return hubUsers(ctx, args[1:], stdout, stderr)
	case args[0] == "audit" && len(args) > 1 && args[1] == "verify":
		return hubAuditVerify(ctx, args[2:], stdout, stderr)
	}
	fmt.Fprint(stderr, hubUsage)
	return 2
}

// hubUserAdd creates a console account. The password is read from standard input (one line), so it
// appears in no process list or shell history.
func hubUserAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, m := hubFlags("station hub user add", stderr)
	username := fs.String("username", "", "用户名")
	role := fs.String("role", "", "角色：clerk（审批人员）或 admin（市级管理员）")
	department := fs.String("department", "", "审批人员所属部门，与事项目录中的承办部门一致（如 区民政局）")
	display := fs.String("display-name", "", "显示名称（默认同用户名）")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *display == "" {
		*display = *username
	}
	u := hub.User{Username: *username, DisplayName: *display, Role: hub.Role(*role), Department: *department, PasswordHash: "-"}
	if err := u.Validate(); err != nil {
		fmt.Fprintln(stderr, station.ErrorMessage(err))
		return 2
	}
	var ok bool
	if u.PasswordHash, ok = readPasswordHash(stdin, m.Hasher, stderr); !ok {
		return 1
	}
	if !m.openTool(ctx, stderr) {
		return 1
	}
	defer m.Close()
	u.CreatedAt = m.Now()
	if err := m.Store.CreateUser(ctx, u); err != nil {
		fmt.Fprintf(stderr, "创建账号失败：%s\n", station.ErrorMessage(err))
		return 1
	}
	if u.Department != "" {
		fmt.Fprintf(stdout, "已创建审批台账号 %s（%s，%s）。\n", u.Username, u.Role.Label(), u.Department)
	} else {
		fmt.Fprintf(stdout, "已创建审批台账号 %s（%s）。\n", u.Username, u.Role.Label())
	}
	return 0
}

func hubUsers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, m := hubFlags("station hub users", stderr)
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if !m.openTool(ctx, stderr) {
		return 1
	}
	defer m.Close()
	list, err := m.Store.Users(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "用户名\t显示名称\t角色\t部门\t状态")
	now := m.Now()
	for _, u := range list {
		state := "正常"
		switch {
		case u.Disabled:
			state = "已停用"
		case u.Locked(now):
			state = "已锁定"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.DisplayName, u.Role.Label(), u.Department, state)
	}
	_ = tw.Flush()
	return 0
}

// hubAuditVerify checks the console audit log's hash chain, entry by entry, against its stored head.
func hubAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, m := hubFlags("station hub audit verify", stderr)
	asJSON := fs.Bool("json", false, "以JSON输出")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if !m.openTool(ctx, stderr) {
		return 1
	}
	defer m.Close()
	v := station.NewAuditVerifier()
	for after := int64(0); ; {
		page, err := m.Store.Audit(ctx, hub.AuditFilter{After: after, Limit: 1000})
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		for _, e := range page {
			v.Add(e)
			after = e.Seq
		}
		if len(page) < 1000 {
			break
		}
	}
	seq, hash, err := m.Store.AuditHead(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rep := v.Finish(seq, hash)
	if *asJSON {
		_ = json.NewEncoder(stdout).Encode(rep)
	} else if rep.OK {
		fmt.Fprintf(stdout, "审批台审计日志完好：共 %d 条。\n", rep.Entries)
	} else {
		fmt.Fprintf(stdout, "审批台审计日志被篡改：第 %d 条起不一致（%s）。\n", rep.FirstBadSeq, rep.Problem)
	}
	if !rep.OK {
		return 1
	}
	return 0
}
