package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// clusterCheck is the doctor's line about the station's cluster.
const clusterCheck = "集群"

// checkCluster asks the running station for its cluster's members: ✗ when there is no leader (no
// command can be saved) or a voter cannot be reached, ! for two voters or a non-voter that is away
// (a kiosk switched off), ✓ with the members otherwise. A station that does not run, or runs alone,
// is said in one line.
func (d *doctor) checkCluster(ctx context.Context) {
	info, ok, err := readControl(d.m.DataDir)
	if err != nil || !ok {
		if err != nil {
			d.add(clusterCheck, checkWarn, err.Error(), "")
		}
		return // the service check says the station does not run
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var st clusterStatusAnswer
	if running, err := callControl(ctx, info, http.MethodGet, "/v1/cluster/status", nil, &st); !running {
		return
	} else if err != nil {
		d.add(clusterCheck, checkFail, "读取集群状态失败："+err.Error(), "station cluster status 查看")
		return
	}
	d.addCluster(st)
}

// addCluster judges a cluster status.
func (d *doctor) addCluster(st clusterStatusAnswer) {
	if st.Error != "" {
		d.add(clusterCheck, checkFail, st.Error, "station cluster status 查看")
		return
	}
	if len(st.Members) <= 1 {
		d.add(clusterCheck, checkOK, "单台设备（本机 "+st.Self+"）", "")
		return
	}
	if st.Leader == "" {
		d.add(clusterCheck, checkFail, "集群没有主机：投票成员不足半数在线，全站无法保存", "开启联系不上的投票设备；无法恢复时见 docs/cluster.md 的“失去多数”一节")
		return
	}
	var down, away, names []string
	for _, mb := range st.Members {
		names = append(names, mb.ID)
		if mb.Reachable {
			continue
		}
		if mb.Voter {
			down = append(down, mb.ID)
		} else {
			away = append(away, mb.ID)
		}
	}
	summary := fmt.Sprintf("%d 台（%s），主机 %s", len(st.Members), strings.Join(names, "、"), st.Leader)
	switch {
	case len(down) > 0:
		d.add(clusterCheck, checkFail, summary+"；投票成员联系不上："+strings.Join(down, "、"), "检查这些设备的电源和网线；长期不用的用 station cluster remove 移出")
	case st.Warning != "":
		d.add(clusterCheck, checkWarn, summary+"；"+st.Warning, "再加入一台投票设备，或 station cluster demote 其中一台")
	case len(away) > 0:
		d.add(clusterCheck, checkWarn, summary+"；非投票成员不在线："+strings.Join(away, "、"), "自助终端开机后会自动追上数据")
	default:
		d.add(clusterCheck, checkOK, summary, "")
	}
}
