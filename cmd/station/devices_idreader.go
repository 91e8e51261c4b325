package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/idcard"
	"github.com/civic-station/station/devices/sim/samsim"
	"github.com/civic-station/station/station"
	"github.com/civic-station/station/station/datakey"
)

// idReaderCardJSON is what `station devices test idreader --json` prints.
type idReaderCardJSON struct {
	CardType    devices.CardType `json:"card_type"`
	Name        string           `json:"name"`
	NameEN      string           `json:"name_en"`
	Sex         station.Sex      `json:"sex"`
	Ethnicity   string           `json:"ethnicity"`
	BirthDate   string           `json:"birth_date"`
	Address     string           `json:"address"`
	IDNumber    string           `json:"id_number"`
	Authority   string           `json:"authority"`
	ValidFrom   string           `json:"valid_from"`
	ValidTo     string           `json:"valid_to"`
	Nationality string           `json:"nationality"`
}

// devicesTestIDReader runs `station devices test idreader --port PATH [--baud N] [--json] [--reveal]`
// (args are the flags after "idreader"): it reads the card on the reader once and prints its fields,
// the ID number masked unless --reveal. It returns 0 when a card was read, 1 when no reader answers,
// no card is on it or the reader reports an error, 2 on a usage error.
func devicesTestIDReader(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station devices test idreader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.String("port", "", "读卡器串口，如 /dev/ttyUSB0（不填则依次查找常见串口）")
	baud := fs.Int("baud", 0, "波特率（0 表示依次尝试 115200 和 9600）")
	asJSON := fs.Bool("json", false, "以JSON输出")
	reveal := fs.Bool("reveal", false, "显示完整证件号码（会被审计）")
	dataDir := fs.String("data", "./data", "数据目录（--reveal 时在此记录审计日志）")
	timeout := fs.Duration("timeout", 15*time.Second, "最长等待时间")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数：%v\n%s", fs.Args(), devicesUsage)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	r := idcard.New(idcard.Config{Port: *port, Baud: *baud,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	defer r.Close()
	card, err := r.ReadCard(ctx)
	if err != nil {
		where := *port
		if where == "" {
			where = "自动查找"
		}
		fmt.Fprintf(stderr, "读卡失败：%s\n串口：%s\n详情：%v\n", idcard.Message(err), where, err)
		return 1
	}
	number := station.MaskIDNumber(card.IDNumber)
	if *reveal {
		if err := auditReveal(ctx, *dataDir, card); err != nil {
			fmt.Fprintf(stderr, "无法记录审计日志，不显示完整证件号码：%v\n", err)
			return 1
		}
		number = card.IDNumber
		fmt.Fprintln(stderr, "警告：已显示完整证件号码。这属于个人信息，请勿截图、拍照或外传；此次操作已记入审计日志。")
	}
	if *asJSON {
		out := idReaderCardJSON{
			CardType: card.Type, Name: card.Name, NameEN: card.NameEN, Sex: card.Sex, Ethnicity: card.Ethnicity,
			BirthDate: dateOrEmpty(card.BirthDate), Address: card.Address, IDNumber: number,
			Authority: card.Authority, ValidFrom: dateOrEmpty(card.ValidFrom), ValidTo: card.ValidTo,
			Nationality: card.Nationality,
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return 1
		}
		return 0
	}
	printCard(stdout, card, number, r.Status())
	return 0
}

func dateOrEmpty(d station.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// printCard prints a card's fields with Chinese labels; number is the (masked) document number.
func printCard(w io.Writer, c *devices.IDCard, number string, st devices.Status) {
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(w, "%s：%s\n", label, value)
		}
	}
	kind := c.DocumentType().Label()
	switch c.Type {
	case devices.CardForeignPR2017:
		kind += "（2017版）"
	case devices.CardForeignPR2023:
		kind += "（2023版）"
	}
	fmt.Fprintf(w, "读卡成功（%s，%s）\n", st.Name, st.Detail)
	line("证件类型", kind)
	line("姓名", c.Name)
	line("英文姓名", c.NameEN)
	line("性别", sexLabel(c.Sex))
	line("民族", c.Ethnicity)
	line("出生日期", dateOrEmpty(c.BirthDate))
	line("住址", c.Address)
	line("证件号码", number)
	line("签发机关", c.Authority)
	if !c.ValidFrom.IsZero() || c.ValidTo != "" {
		line("有效期限", dateOrEmpty(c.ValidFrom)+" 至 "+c.ValidTo)
	}
	line("国籍", c.Nationality)
	line("通行证号码", c.PassNumber)
	switch c.Type {
	case devices.CardHKMOTWPermit:
		line("签发次数", c.IssueCount)
	case devices.CardForeignPR2023:
		line("换证次数", c.IssueCount)
	}
	line("既往证件关联", c.PreviousCard)
	if len(c.PhotoBMP) > 0 {
		line("照片", fmt.Sprintf("已解码（%d 字节）", len(c.PhotoBMP)))
	} else if len(c.Photo) > 0 {
		line("照片", "已读取，未配置照片解码程序")
	}
}

func sexLabel(s station.Sex) string {
	switch s {
	case station.SexMale:
		return "男"
	case station.SexFemale:
		return "女"
	}
	return "未知"
}

// simulateIDReader runs `station simulate idreader` (args are the flags after "idreader"):
//
//	--link PATH [--baud N] [--cards FILE] [--control SOCK]   run a simulated reader until interrupted
//	--control SOCK --place FILE | --index N | --remove | --unplug | --replug   control a running one
//
// It returns 0 on success, 1 on failure, 2 on a usage error.
func simulateIDReader(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("station simulate idreader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	link := fs.String("link", "", "模拟串口的路径（符号链接），如 /tmp/ttySAM")
	baud := fs.Int("baud", 115200, "模拟波特率")
	cards := fs.String("cards", "", "卡片JSON文件（一张卡或数组），用于 --index")
	control := fs.String("control", "", "控制套接字路径（默认为 --link 加 .ctl）")
	place := fs.String("place", "", "放上这张卡（JSON文件）")
	index := fs.Int("index", -1, "放上已加载的第N张卡（从0开始）")
	remove := fs.Bool("remove", false, "取走卡片")
	unplug := fs.Bool("unplug", false, "模拟拔掉读卡器")
	replug := fs.Bool("replug", false, "模拟重新插上读卡器")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	ops := 0
	for _, set := range []bool{*place != "", *index >= 0, *remove, *unplug, *replug} {
		if set {
			ops++
		}
	}
	if fs.NArg() > 0 || ops > 1 || (ops == 0 && *link == "") || (ops == 1 && *control == "" && *link == "") {
		fmt.Fprint(stderr, "请指定 --link 启动模拟读卡器，或用 --control 加 --place/--remove 之一控制它\n"+simulateUsage)
		return 2
	}
	if *control == "" {
		*control = samsim.DefaultControl(*link)
	}
	if ops == 1 {
		return simulateIDReaderControl(ctx, *control, *place, *index, *remove, *unplug, *replug, stdout, stderr)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err := samsim.Run(ctx, samsim.RunConfig{
		Link: *link, Control: *control, Baud: *baud, CardsFile: *cards, Logger: log,
		Ready: func(link, control string) {
			fmt.Fprintf(stdout, "模拟身份证读卡器已启动：串口 %s（%d 波特），控制套接字 %s\n", link, *baud, control)
			fmt.Fprintf(stdout, "放卡：station simulate idreader --control %s --place card.json\n", control)
			fmt.Fprintf(stdout, "取卡：station simulate idreader --control %s --remove\n", control)
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "模拟读卡器启动失败：%v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "模拟读卡器已停止。")
	return 0
}

func simulateIDReaderControl(ctx context.Context, control, place string, index int, remove, unplug, replug bool, stdout, stderr io.Writer) int {
	var req samsim.Request
	switch {
	case place != "":
		cards, err := samsim.LoadCards(place)
		if err != nil {
			fmt.Fprintf(stderr, "卡片文件有误：%v\n", err)
			return 1
		}
		if len(cards) != 1 {
			fmt.Fprintf(stderr, "卡片文件 %s 应只含一张卡，实际有 %d 张\n", place, len(cards))
			return 1
		}
		req = samsim.Request{Op: "place", Card: &cards[0]}
	case index >= 0:
		req = samsim.Request{Op: "place", Index: &index}
	case remove:
		req = samsim.Request{Op: "remove"}
	case unplug:
		req = samsim.Request{Op: "unplug"}
	case replug:
		req = samsim.Request{Op: "replug"}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rep, err := samsim.Send(ctx, control, req)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "找不到模拟读卡器的控制套接字 %s，请先运行 station simulate idreader --link PATH\n", control)
		} else {
			fmt.Fprintf(stderr, "控制模拟读卡器失败：%v\n", err)
		}
		return 1
	}
	state := "读卡区无卡"
	if rep.Card {
		state = "读卡区有卡"
	}
	if !rep.Plugged {
		state = "读卡器已拔出"
	}
	if rep.Swapped {
		state += "（已先取走原有的证件）"
	}
	fmt.Fprintf(stdout, "已完成。当前：%s\n", state)
	return 0
}

// auditReveal records in the station's audit log that the technician at the console saw a card's full
// number. Without a station database to record it in, the number is not shown.
func auditReveal(ctx context.Context, dir string, card *devices.IDCard) error {
	path := filepath.Join(dir, "station.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("找不到数据库 %s（用 --data 指定数据目录）", path)
	}
	key, err := datakey.Load(filepath.Join(dir, "datakey"))
	if err != nil {
		return err
	}
	object := "idcard:" + key.Index(card.DocumentType(), card.IDNumber)[:16]
	return consoleSubmitAs(ctx, dir, station.Actor{Username: consoleActor.Username, Role: station.RoleTechnician},
		station.CmdAccessRecord, station.AccessRecord{Object: object, Purpose: "reveal"})
}
