package ipp

import (
	"strings"

	"github.com/civic-station/station/devices"
)

// IPP printer-state values (RFC 8011 §5.4.11).
const (
	printerIdle       = 3
	printerProcessing = 4
	printerStopped    = 5
)

// reasonClass is what a printer-state-reasons keyword means for the station.
type reasonClass int

const (
	classInfo         reasonClass = iota // worth showing, changes nothing
	classPaperLow                        // still prints
	classFault                           // the printer cannot print until someone acts
	classPaperOut                        // no paper: nothing prints
	classDisconnected                    // the device behind the endpoint is gone
)

// reasonInfo is the class and Chinese description of one reason keyword, suffix removed.
type reasonInfo struct {
	class reasonClass
	text  string
}

// reasons maps printer-state-reasons keywords (RFC 8011 §5.4.12, PWG 5100.9) to their meaning.
// Keywords arrive with a -error, -warning or -report suffix, which is removed before the lookup.
var reasons = map[string]reasonInfo{
	"media-empty":              {classPaperOut, "纸盒无纸"},
	"media-needed":             {classPaperOut, "需要装纸"},
	"media-low":                {classPaperLow, "纸张即将用完"},
	"media-jam":                {classFault, "卡纸"},
	"door-open":                {classFault, "打印机舱门打开"},
	"cover-open":               {classFault, "打印机盖板打开"},
	"interlock-open":           {classFault, "打印机联锁装置打开"},
	"input-tray-missing":       {classFault, "纸盒未装好"},
	"output-tray-missing":      {classFault, "出纸盒未装好"},
	"output-area-full":         {classFault, "出纸盒已满"},
	"marker-supply-empty":      {classFault, "墨粉或墨水已用完"},
	"toner-empty":              {classFault, "墨粉已用完"},
	"fuser-over-temp":          {classFault, "定影器过热"},
	"fuser-under-temp":         {classFault, "定影器温度不足"},
	"paused":                   {classFault, "打印机已暂停"},
	"spool-area-full":          {classFault, "打印机存储空间已满"},
	"marker-supply-low":        {classInfo, "墨粉或墨水不足"},
	"toner-low":                {classInfo, "墨粉不足"},
	"marker-waste-almost-full": {classInfo, "废粉盒将满"},
	"moving-to-paused":         {classInfo, "打印机即将暂停"},
	"connecting-to-device":     {classInfo, "正在连接打印设备"},
	"offline":                  {classDisconnected, "打印机离线"},
	"shutdown":                 {classDisconnected, "打印机已关机"},
	"timed-out":                {classDisconnected, "打印机无响应"},
}

// baseReason removes the severity suffix from a printer-state-reasons keyword.
func baseReason(r string) string {
	for _, suffix := range []string{"-error", "-warning", "-report"} {
		if s, ok := strings.CutSuffix(r, suffix); ok {
			return s
		}
	}
	return r
}

// statusFrom maps printer-state and printer-state-reasons to a devices.Status State, Connected flag
// and Chinese description. The most serious reason wins: disconnected, paper out, fault, stopped for
// a reason we do not know, paper low, busy, ready.
func statusFrom(state int, raw []string) (devices.State, bool, string) {
	worst := classInfo
	paperLow := false
	var texts []string
	for _, r := range raw {
		if r == "" || r == "none" {
			continue
		}
		info, known := reasons[baseReason(r)]
		if !known {
			texts = append(texts, "打印机报告："+r)
			continue
		}
		texts = append(texts, info.text)
		if info.class == classPaperLow {
			paperLow = true
		}
		if info.class > worst {
			worst = info.class
		}
	}
	if state == printerStopped && worst < classFault {
		texts = append(texts, "打印机已停止")
	}
	desc := strings.Join(texts, "；")
	switch {
	case worst == classDisconnected:
		return devices.StateDisconnected, false, desc
	case worst == classPaperOut:
		return devices.StatePaperOut, true, desc
	case worst == classFault, state == printerStopped:
		return devices.StateError, true, desc
	case paperLow:
		return devices.StatePaperLow, true, desc
	case state == printerProcessing:
		return devices.StateBusy, true, desc
	}
	return devices.StateReady, true, desc
}
