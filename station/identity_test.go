package station

import (
	"encoding/json"
	"os"
	"testing"
)

// withCheck appends the GB 11643 check digit to 17 characters.
func withCheck(first17 string) string { return first17 + string(CheckDigit(first17)) }

func TestCheckDigitMatchesTheStandardsWorkedExample(t *testing.T) {
	// GB 11643-1999 appendix example: 11010519491231002X.
	if got := CheckDigit("11010519491231002"); got != 'X' {
		t.Fatalf("CheckDigit = %c, want X", got)
	}
	if got := CheckDigit("1101051949123100a"); got != 0 {
		t.Fatalf("CheckDigit of a non-digit = %c, want 0", got)
	}
}

func TestValidateIDNumber(t *testing.T) {
	valid := withCheck("22010419900307451")
	wrongCheck := valid[:17] + string("10X98765432"[(indexOf(valid[17])+1)%11])
	cases := []struct {
		name   string
		typ    IDType
		number string
		ok     bool
	}{
		{"a valid resident number is accepted", IDResident, valid, true},
		{"the standard's example with X is accepted", IDResident, "11010519491231002X", true},
		{"a wrong check digit is refused", IDResident, wrongCheck, false},
		{"a lower-case x is refused before normalization", IDResident, "11010519491231002x", false},
		{"17 characters are refused", IDResident, valid[:17], false},
		{"19 characters are refused", IDResident, valid + "1", false},
		{"February 30 is refused", IDResident, withCheck("22010419900230451"), false},
		{"month 13 is refused", IDResident, withCheck("22010419901301451"), false},
		{"a birth year before 1900 is refused", IDResident, withCheck("22010418900101451"), false},
		{"February 29 in a leap year is accepted", IDResident, withCheck("22010420000229451"), true},
		{"February 29 in a common year is refused", IDResident, withCheck("22010420010229451"), false},
		{"an unknown province code is refused", IDResident, withCheck("99010419900307451"), false},
		{"a province code with zeros after it is refused", IDResident, withCheck("22000019900307451"), false},
		{"letters inside the number are refused", IDResident, "2201041990A307451X", false},
		{"a Hong Kong residence permit is accepted", IDHKMOPermit, withCheck("81000019870522048"), true},
		{"a Macau residence permit is accepted", IDHKMOPermit, withCheck("82000019870522048"), true},
		{"a residence permit with a mainland prefix is refused", IDHKMOPermit, valid, false},
		{"a Taiwan residence permit is accepted", IDTWPermit, withCheck("83000019750101002"), true},
		{"a Taiwan permit with a wrong check digit is refused", IDTWPermit, "830000197501010020", CheckDigit("83000019750101002") == '0'},
		{"a Hong Kong mainland travel permit is accepted", IDHKMOPass, "H12345678", true},
		{"an old 11-character Macau permit is accepted", IDHKMOPass, "M1234567801", true},
		{"a travel permit without H or M is refused", IDHKMOPass, "X12345678", false},
		{"a Taiwan compatriot permit of 8 digits is accepted", IDTWPass, "12345678", true},
		{"a Taiwan compatriot permit of 9 digits is refused", IDTWPass, "123456789", false},
		{"a 2023 foreign permanent resident card is accepted", IDForeignPermanent, withCheck("92284019830129012"), true},
		{"a 2023 card not starting with 9 is refused", IDForeignPermanent, withCheck("82284019830129012"), false},
		{"a 2023 card with a wrong check digit is refused", IDForeignPermanent, "92284019830129012" + string(CheckDigit("92284019830129013")), CheckDigit("92284019830129013") == CheckDigit("92284019830129012")},
		{"a 2017 foreign permanent resident card is accepted", IDForeignPermanent, "USA228301290124", true},
		{"a 2017 card with an impossible birth date is refused", IDForeignPermanent, "USA228313290124", false},
		{"a 2017 card with digits for a nationality is refused", IDForeignPermanent, "123228301290124", false},
		{"an unknown document type is refused", IDType("passport"), "E12345678", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateIDNumber(c.typ, c.number)
			if (err == nil) != c.ok {
				t.Fatalf("ValidateIDNumber(%s, %s) = %v, want ok=%v", c.typ, c.number, err, c.ok)
			}
			if err != nil {
				if ErrorCode(err) != EINVALID {
					t.Fatalf("code = %s, want EINVALID", ErrorCode(err))
				}
				if len(c.number) >= 8 && contains(ErrorMessage(err), c.number) {
					t.Fatalf("the error message repeats the number: %s", ErrorMessage(err))
				}
			}
		})
	}
}

func indexOf(c byte) int {
	for i := range len("10X98765432") {
		if "10X98765432"[i] == c {
			return i
		}
	}
	return -1
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestMasking(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"an ID number keeps 4 and 4", MaskIDNumber("22010419900307451X"), "2201**********451X"},
		{"a short pass keeps the last 2", MaskIDNumber("12345678"), "******78"},
		{"a 9-character pass keeps 4 and 4", MaskIDNumber("H12345678"), "H123*5678"},
		{"a name keeps its first character", MaskName("张三丰"), "张**"},
		{"a one-character name is fully masked", MaskName("张"), "*"},
		{"a phone keeps 3 and 4", MaskPhone("13812345678"), "138****5678"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %q, want %q", c.got, c.want)
			}
		})
	}
}

func TestBirthDateAndSexFromID(t *testing.T) {
	n := withCheck("22010419900307452")
	d, ok := BirthDateFromID(IDResident, n)
	if !ok || d.String() != "1990-03-07" {
		t.Fatalf("birth date = %v %v", d, ok)
	}
	if s, _ := SexFromID(IDResident, n); s != SexFemale {
		t.Fatalf("sex = %s, want female (even 17th digit)", s)
	}
	if s, _ := SexFromID(IDResident, withCheck("22010419900307451")); s != SexMale {
		t.Fatalf("sex = %s, want male (odd 17th digit)", s)
	}
}

// TestIDNumberMessagesSayWhatIsWrong checks the messages for what people type against the cases the
// kiosk UI's own check (kiosk-ui/src/lib/idcard.ts) is held to as well.
func TestIDNumberMessagesSayWhatIsWrong(t *testing.T) {
	b, err := os.ReadFile("testdata/idnumber_messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct{ Name, Typed, Message string }
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			got := ErrorMessage(ValidateIDNumber(IDResident, NormalizeIDNumber(c.Typed)))
			if got != c.Message {
				t.Fatalf("typed %q: message %q, want %q", c.Typed, got, c.Message)
			}
		})
	}
}
