package tables

import (
	"slices"
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	for n, want := range map[int]string{999: "999", 1000: "1k", 1500: "1500", 10_000: "10k", 1_000_000: "1M", 2_500_000: "2500k"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseSizes(t *testing.T) {
	got, err := ParseSizes("1000, 10000,100000", 2)
	if err != nil || !slices.Equal(got, []int{1000, 10000, 100000}) {
		t.Errorf("ParseSizes: %v %v", got, err)
	}
	for _, bad := range []string{"", "1,x", "1", "10,-3"} {
		if _, err := ParseSizes(bad, 2); err == nil {
			t.Errorf("ParseSizes(%q): no error", bad)
		}
	}
}

func TestWriteList(t *testing.T) {
	var b strings.Builder
	WriteList(&b, []string{"a", "b", "c"}, 2)
	if got := b.String(); got != "  a\n  b\n  … and 1 more\n" {
		t.Errorf("WriteList = %q", got)
	}
	b.Reset()
	WriteList(&b, []string{"a"}, 2)
	if got := b.String(); got != "  a\n" {
		t.Errorf("WriteList = %q", got)
	}
}
