package escpos

import (
	"fmt"
	"time"

	"github.com/civic-station/station/devices"
)

// Queue is what a queue ticket (取号单) shows.
type Queue struct {
	Station  string    // station name, e.g. 幸福里社区党群服务中心
	Number   string    // ticket number, e.g. A012
	Service  string    // e.g. 社保业务
	Waiting  int       // people ahead
	IssuedAt time.Time // shown as 2006-01-02 15:04 in its own location
	QR       string    // link to follow the queue on a phone; empty for none
}

// QueueTicket lays out a queue ticket: station, a big number, the service, how many are waiting, the
// time, and a QR code to follow the queue.
func QueueTicket(q Queue) devices.Ticket {
	t := devices.Ticket{Lines: []devices.TicketLine{
		{Text: q.Station, Bold: true, Align: devices.AlignCenter, Feed: 1},
		{Text: "您的号码", Align: devices.AlignCenter},
		{Text: q.Number, Double: true, Bold: true, Align: devices.AlignCenter, Feed: 1},
		{Text: "办理业务：" + q.Service},
		{Text: fmt.Sprintf("前面还有 %d 人等候", q.Waiting)},
		{Text: "取号时间：" + q.IssuedAt.Format("2006-01-02 15:04"), Feed: 1},
	}}
	if q.QR != "" {
		t.Lines = append(t.Lines,
			devices.TicketLine{QR: q.QR, Align: devices.AlignCenter},
			devices.TicketLine{Text: "扫码查看排队进度", Align: devices.AlignCenter})
	}
	t.Lines = append(t.Lines, devices.TicketLine{Text: "请留意叫号，过号请重新取号", Align: devices.AlignCenter})
	return t
}

// ReceiptItem is one labelled value on a receipt.
type ReceiptItem struct {
	Label string
	Value string
}

// Receipt is what a receipt or certificate slip (回执/证明凭条) shows.
type Receipt struct {
	Station  string
	Title    string // e.g. 受理回执, 居住证明
	Number   string // application or certificate number
	Items    []ReceiptItem
	IssuedAt time.Time
	QR       string // verification link; empty for none
	Footer   string // e.g. 凭此回执查询办理进度
}

// ReceiptSlip lays out a receipt or certificate slip: station, title, number, the items, the time,
// a verification QR code and a footer. Names on it may hold rare characters; the encoder prints such
// lines as images.
func ReceiptSlip(r Receipt) devices.Ticket {
	t := devices.Ticket{Lines: []devices.TicketLine{
		{Text: r.Station, Align: devices.AlignCenter},
		{Text: r.Title, Bold: true, Double: true, Align: devices.AlignCenter, Feed: 1},
		{Text: "编号：" + r.Number},
	}}
	for _, it := range r.Items {
		t.Lines = append(t.Lines, devices.TicketLine{Text: it.Label + "：" + it.Value})
	}
	t.Lines = append(t.Lines, devices.TicketLine{Text: "时间：" + r.IssuedAt.Format("2006-01-02 15:04"), Feed: 1})
	if r.QR != "" {
		t.Lines = append(t.Lines,
			devices.TicketLine{QR: r.QR, Align: devices.AlignCenter},
			devices.TicketLine{Text: "扫码核验", Align: devices.AlignCenter})
	}
	if r.Footer != "" {
		t.Lines = append(t.Lines, devices.TicketLine{Text: r.Footer, Align: devices.AlignCenter})
	}
	return t
}

// Test is what the test ticket (打印测试页) of the setup page shows.
type Test struct {
	Station   string
	Printer   string // the printer's URI or name
	Width     int    // paper width in dots
	PrintedAt time.Time
}

// TestTicket lays out the setup page's test ticket: every style the station uses (bold, double size,
// the three alignments), a line with rare characters printed as an image, and a QR code.
func TestTicket(x Test) devices.Ticket {
	mm := 80
	if x.Width == Width58 {
		mm = 58
	}
	return devices.Ticket{Lines: []devices.TicketLine{
		{Text: "打印机测试页", Bold: true, Double: true, Align: devices.AlignCenter, Feed: 1},
		{Text: "服务站：" + x.Station},
		{Text: "打印机：" + x.Printer},
		{Text: fmt.Sprintf("纸宽：%d 毫米（%d 点）", mm, x.Width)},
		{Text: "时间：" + x.PrintedAt.Format("2006-01-02 15:04:05"), Feed: 1},
		{Text: "普通文字 ABC 123"},
		{Text: "加粗文字", Bold: true},
		{Text: "倍大", Double: true},
		{Text: "居左"},
		{Text: "居中", Align: devices.AlignCenter},
		{Text: "居右", Align: devices.AlignRight},
		{Text: "生僻字：王䶮", Feed: 1},
		{QR: "https://station.example/setup/printer-test", Align: devices.AlignCenter},
		{Text: "二维码可扫描即正常", Align: devices.AlignCenter},
	}}
}
