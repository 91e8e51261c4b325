package samsim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/station"
)

func day(y, m, d int) station.Date { return station.Date{Year: y, Month: time.Month(m), Day: d} }

func withCheck(first17 string) string { return first17 + string(station.CheckDigit(first17)) }

// SampleCards returns one real-looking card of each type (the people do not exist; the numbers have
// valid check digits).
func SampleCards() []Card {
	return []Card{
		{IDCard: devices.IDCard{
			Type: devices.CardResident, Name: "张伟明", Sex: station.SexMale, EthnicityCode: "01", Ethnicity: "汉",
			BirthDate: day(1985, 3, 17), Address: "北京市朝阳区建国路88号院3号楼2单元501室",
			IDNumber: withCheck("11010519850317013"), Authority: "北京市公安局朝阳分局",
			ValidFrom: day(2015, 6, 1), ValidTo: "2035-06-01",
		}, AppendedAddress: "北京市朝阳区望京街道阜通东大街6号院"},
		{IDCard: devices.IDCard{
			Type: devices.CardHKMOTWPermit, Name: "陈家豪", Sex: station.SexMale,
			BirthDate: day(1990, 8, 8), Address: "广东省深圳市福田区福华一路1号大中华国际交易广场",
			IDNumber: withCheck("81000019900808123"), Authority: "深圳市公安局福田分局",
			ValidFrom: day(2019, 9, 1), ValidTo: "2024-09-01", PassNumber: "H12345678", IssueCount: "01",
		}},
		{IDCard: devices.IDCard{
			Type: devices.CardForeignPR2017, NameEN: "SMITH, JOHN WILLIAM", Name: "史密斯", Sex: station.SexMale,
			IDNumber: "USA118503120015", Nationality: "USA", BirthDate: day(1985, 3, 12),
			ValidFrom: day(2017, 6, 15), ValidTo: "2027-06-14", Authority: "1100",
		}},
		{IDCard: devices.IDCard{
			Type: devices.CardForeignPR2023, Name: "玛丽亚", NameEN: "GONZALEZ RODRIGUEZ, MARIA FERNANDA DEL CARMEN",
			Sex: station.SexFemale, IssueCount: "00", BirthDate: day(1992, 11, 5),
			IDNumber: withCheck("94472419921105002"), Nationality: "ESP",
			ValidFrom: day(2023, 12, 1), ValidTo: "2033-11-30",
		}},
	}
}

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "欧阳", "司马"}
	given    = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "志强"}
	regions  = []struct{ code, place, authority string }{
		{"110105", "北京市朝阳区", "北京市公安局朝阳分局"},
		{"310104", "上海市徐汇区", "上海市公安局徐汇分局"},
		{"440305", "广东省深圳市南山区", "深圳市公安局南山分局"},
		{"510107", "四川省成都市武侯区", "成都市公安局武侯区分局"},
		{"330106", "浙江省杭州市西湖区", "杭州市公安局西湖区分局"},
		{"420106", "湖北省武汉市武昌区", "武汉市公安局武昌区分局"},
		{"650102", "新疆维吾尔自治区乌鲁木齐市天山区", "乌鲁木齐市公安局天山区分局"},
		{"150102", "内蒙古自治区呼和浩特市新城区", "呼和浩特市公安局新城区分局"},
	}
	streets = []string{"人民路", "解放路", "中山路", "建设路", "和平街", "幸福里", "长安街", "光明路"}
)

// GenerateCard returns a resident ID card with plausible fields and a valid check digit, the same
// for the same seed. today sets the validity period (5, 10 or 20 years, or 长期 from age 46).
func GenerateCard(seed uint64, today station.Date) Card {
	rng := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	reg := regions[rng.IntN(len(regions))]
	age := 1 + rng.IntN(85)
	birth := day(today.Year-age, 1+rng.IntN(12), 1+rng.IntN(28))
	sex := station.SexMale
	if rng.IntN(2) == 1 {
		sex = station.SexFemale
	}
	seq := rng.IntN(100)*10 + rng.IntN(5)*2 // even 17th digit: female
	if sex == station.SexMale {
		seq++
	}
	first17 := fmt.Sprintf("%s%04d%02d%02d%03d", reg.code, birth.Year, birth.Month, birth.Day, seq)
	eth := "01"
	if rng.IntN(10) == 0 {
		eth = fmt.Sprintf("%02d", 2+rng.IntN(55))
	}
	ethName, _ := ethnicityName(eth)
	issued := day(today.Year-rng.IntN(5), 1+rng.IntN(12), 1+rng.IntN(28))
	issueAge := issued.Year - birth.Year
	validTo := "长期"
	switch {
	case issueAge < 16:
		validTo = day(issued.Year+5, int(issued.Month), issued.Day).String()
	case issueAge <= 25:
		validTo = day(issued.Year+10, int(issued.Month), issued.Day).String()
	case issueAge <= 45:
		validTo = day(issued.Year+20, int(issued.Month), issued.Day).String()
	}
	return Card{IDCard: devices.IDCard{
		Type:          devices.CardResident,
		Name:          surnames[rng.IntN(len(surnames))] + given[rng.IntN(len(given))],
		Sex:           sex,
		EthnicityCode: eth,
		Ethnicity:     ethName,
		BirthDate:     birth,
		Address:       fmt.Sprintf("%s%s%d号%d栋%d室", reg.place, streets[rng.IntN(len(streets))], 1+rng.IntN(300), 1+rng.IntN(20), 101+rng.IntN(20)*100+rng.IntN(4)),
		IDNumber:      withCheck(first17),
		Authority:     reg.authority,
		ValidFrom:     issued,
		ValidTo:       validTo,
	}}
}
