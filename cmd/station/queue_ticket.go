package main

import (
	"context"
	"net"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/station/cluster"
	shttp "github.com/civic-station/station/station/http"
)

// kioskInfo lays out the queue tickets the kiosk prints (shttp.KioskInfo): the ESC/POS layout with
// the station's name, and a follow link a phone on the station's LAN can open.
type kioskInfo struct{ m *Main }

var _ shttp.KioskInfo = kioskInfo{}

// PublicURL is the HTTPS listener at the box's LAN address (an IP, which a phone reaches without the
// box's host name in any DNS), or "" when HTTPS is off or only on loopback, as in the demo: phones
// cannot reach the loopback-only plain HTTP port, and the kiosk's own address is used instead.
func (k kioskInfo) PublicURL() string {
	m := k.m
	if m.tls == nil || m.HTTP == nil {
		return ""
	}
	addrs := m.HTTP.Addrs()
	if len(addrs) < 2 {
		return ""
	}
	addr, err := cluster.AdvertiseAddr(addrs[1].String())
	if err != nil {
		return ""
	}
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ""
	}
	return "https://" + addr
}

// QueueSlip lays out a ticket's slip with escpos.QueueTicket under the name certificates print.
func (k kioskInfo) QueueSlip(ctx context.Context, q shttp.QueueSlip) (devices.Ticket, error) {
	info, err := k.m.certStation(ctx)
	if err != nil {
		return devices.Ticket{}, err
	}
	return escpos.QueueTicket(escpos.Queue{Station: info.Name, Number: q.Number, Service: q.Service, Waiting: q.Ahead,
		IssuedAt: q.IssuedAt, QR: q.FollowURL}), nil
}
