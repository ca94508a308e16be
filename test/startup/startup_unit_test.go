package startup

import (
	"strings"
	"testing"
)

func TestParseInittrace(t *testing.T) {
	in := `init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs
init runtime @0.046 ms, 0.070 ms clock, 0 bytes, 0 allocs
sign version devel
init github.com/asaskevich/govalidator @18 ms, 3.8 ms clock, 951816 bytes, 6206 allocs
initialising nothing @1 ms, 2 ms clock
`
	got, err := ParseInittrace(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got.Inits != 3 || got.InitMS < 3.869 || got.InitMS > 3.871 {
		t.Fatalf("got %+v, want 3 inits, 3.87 ms", got)
	}
}
