package main

import (
	"strings"
	"testing"
)

// TestKioskMineCorrectionNotice checks that the card holder's own list tells them what to correct
// or bring for an application in 待补正, as the counter wrote it, and where.
func TestKioskMineCorrectionNotice(t *testing.T) {
	s := startStation(t)
	s.placeCard(t, "陈志远")
	counter := s.login(t, "counter1")
	a := s.intake(t, counter, "MZ-001", s.Rig.Card().IDNumber)
	reason := "缺少户口簿原件，请于12月20日前带原件到窗口补正"
	if r := s.do(t, "POST", "/api/v1/applications/"+a.ID+"/transitions", counter, map[string]string{"action": "return", "reason": reason}); r.status != 200 {
		t.Fatalf("return: %d %s", r.status, r.body)
	}
	r := s.do(t, "GET", "/api/v1/kiosk/applications", "", nil)
	if r.status != 200 {
		t.Fatalf("mine: %d %s", r.status, r.body)
	}
	var out struct {
		Items []struct {
			Number     string `json:"number"`
			Status     string `json:"status"`
			Correction *struct {
				Reason     string `json:"reason"`
				ReturnedAt string `json:"returned_at"`
				Location   string `json:"location"`
			} `json:"correction"`
		} `json:"items"`
	}
	r.json(t, &out)
	found := false
	for _, it := range out.Items {
		if it.Number != a.Number {
			if it.Status != "returned" && it.Correction != nil {
				t.Errorf("%s (%s) carries a correction notice", it.Number, it.Status)
			}
			continue
		}
		found = true
		if it.Correction == nil || it.Correction.Reason != reason || it.Correction.ReturnedAt == "" || it.Correction.Location == "" {
			t.Fatalf("correction = %+v", it.Correction)
		}
	}
	if !found {
		t.Fatalf("%s not in the card holder's list: %s", a.Number, r.body)
	}
	if strings.Contains(string(r.body), s.Rig.Card().IDNumber) {
		t.Error("the list shows the full ID number")
	}
}
