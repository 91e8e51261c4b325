package http

import "testing"

func TestJSONFieldAtNamesTheFieldHoldingInvalidUTF8(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"valid UTF-8 is no field", "{\"name\":\"张三\"}", ""},
		{"a top-level field", "{\"name\":\"张\xff三\",\"phone\":\"1\"}", "name"},
		{"a nested field", "{\"matter_code\":\"MZ-001\",\"applicant\":{\"id_type\":\"resident\",\"name\":\"\xff\"}}", "applicant.name"},
		{"a field in the second element of an array", "{\"materials\":[{\"code\":\"M1\"},{\"code\":\"M\xfe2\"}],\"note\":\"\"}", "materials[1].code"},
		{"a string in an array", "{\"tags\":[\"a\",\"b\",\"\xc3\"]}", "tags[2]"},
		{"a field after a nested object", "{\"a\":{\"b\":[1,2,{\"c\":true}]},\"d\":\"\xff\"}", "d"},
		{"not JSON", "\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.body)
			if got := jsonFieldAt(b, invalidUTF8At(b)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
