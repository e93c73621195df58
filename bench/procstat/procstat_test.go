package procstat

import (
	"runtime"
	"testing"
)

var sink []byte

func TestReadings(t *testing.T) {
	c0 := CPUTime()
	x := 0
	for i := range 50_000_000 {
		x += i
	}
	if c1 := CPUTime(); c1 <= c0 {
		t.Errorf("CPU time did not advance over a busy loop: %v then %v (%d)", c0, c1, x)
	}
	h0 := HeapAlloc()
	sink = make([]byte, 8<<20)
	if h1 := HeapAlloc(); h1 < h0+(7<<20) {
		t.Errorf("an 8 MiB allocation moved the heap from %d to %d", h0, h1)
	}
	if runtime.GOOS == "linux" {
		if r := RSSMiB("VmRSS"); r <= 0 {
			t.Errorf("VmRSS = %v", r)
		}
		if l := LoadAvg(); l == "?" {
			t.Error("no load average on Linux")
		}
	}
	if RSSMiB("NoSuchField") != 0 {
		t.Error("an unknown field reads as non-zero")
	}
}
