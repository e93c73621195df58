package databench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// process is a server the harness started. It stops when stop is called
// and, on Linux, when the harness itself dies (a parent-death signal), so
// that a panic, a test timeout or a kill of the harness never leaves a
// server running.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // of Wait, once done is closed
	once sync.Once
}

// startProcess starts cmd with its output in logPath.
func startProcess(name string, cmd *exec.Cmd, logPath string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after grace. It is safe to
// call more than once.
func (p *process) stop(grace time.Duration) {
	p.once.Do(func() {
		if !p.exited() {
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(grace):
				p.cmd.Process.Kill()
				<-p.done
			}
		}
		p.log.Close()
	})
}

// tail returns the end of the process's log, for error messages.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.log.Name())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// cpuTime returns the CPU time (user and system) the process has used so
// far, read from /proc; ok is false where /proc is not available.
func (p *process) cpuTime() (time.Duration, bool) {
	return procCPUTime(p.cmd.Process.Pid)
}

// clockTick is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

func procCPUTime(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * clockTick, true
}

// loadAverage returns /proc/loadavg's three averages, or "n/a".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return "n/a"
	}
	return string(f[0]) + " " + string(f[1]) + " " + string(f[2])
}

// selfCPUTime is the harness's own CPU time so far.
func selfCPUTime() (time.Duration, bool) { return procCPUTime(os.Getpid()) }
