package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/civic-station/station/station"
	"github.com/civic-station/station/syncer"
)

// enrollCommand runs `station enroll --hub URL --token T --data DIR`: it enrolls the station with the
// data center and stores its key and certificate (owner-only) under DIR/sync.
func enrollCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "./data", "数据目录")
	hubURL := fs.String("hub", "", "数据中心地址 https://主机:端口")
	token := fs.String("token", "", "一次性注册码（由 station hub token create 生成）")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if *hubURL == "" || *token == "" {
		fmt.Fprint(stderr, "用法：station enroll --hub https://主机:端口 --token 注册码 [--data DIR]\n")
		return 2
	}
	id, err := syncer.Enroll(ctx, *hubURL, *token, *dir, version)
	if err != nil {
		var de *station.Error
		if errors.As(err, &de) {
			fmt.Fprintln(stderr, de.Message)
		} else {
			fmt.Fprintf(stderr, "注册失败：%v\n", err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "注册成功：%s（站点编号 %s）\n", id.StationName, id.StationID)
	return 0
}
