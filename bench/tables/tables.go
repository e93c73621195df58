// Package tables formats the figures the benchmark commands print in their
// Markdown tables, and parses the size lists they take.
package tables

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Count names a size compactly: 10000 is "10k", 1000000 "1M"; other
// numbers are printed whole.
func Count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// Thousands prints n with commas between groups of three digits.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseSizes reads a comma-separated list of sizes, each at least min.
func ParseSizes(list string, min int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < min {
			return nil, fmt.Errorf("bad size %q: want a whole number of at least %d", f, min)
		}
		out = append(out, n)
	}
	return out, nil
}

// WriteList writes lines indented by two spaces, at most max of them,
// then how many more there were.
func WriteList(w io.Writer, lines []string, max int) {
	for i, l := range lines {
		if i == max {
			fmt.Fprintf(w, "  … and %d more\n", len(lines)-max)
			return
		}
		fmt.Fprintf(w, "  %s\n", l)
	}
}
