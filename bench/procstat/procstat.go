// Package procstat reads what the benchmarks report about their own
// process and host: CPU time, live heap, resident set and load average.
package procstat

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPUTime is the process's user and system CPU time so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// HeapAlloc is the live heap in bytes, after a collection.
func HeapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// RSSMiB reads a field of /proc/self/status (VmRSS, VmHWM) in MiB, or 0
// where there is no such file.
func RSSMiB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// ResetPeakRSS resets the kernel's peak resident set (VmHWM) of this
// process, where Linux allows it, and reports whether it did.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// LoadAvg is the host's one-minute load average, or "?".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// Describe is the line a benchmark prints above its tables: the Go
// version, platform, GOMAXPROCS, the time, and the host's load average
// before (as the caller read it with LoadAvg) and now.
func Describe(loadBefore string) string {
	return fmt.Sprintf("%s, %s/%s, GOMAXPROCS=%d, %s; load average %s before, %s after (other jobs share the host: compare ratios)",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), time.Now().UTC().Format("2006-01-02 15:04 MST"), loadBefore, LoadAvg())
}
