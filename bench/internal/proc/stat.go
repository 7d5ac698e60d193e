//go:build linux

package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// which is 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// Memory is a process's resident set from /proc/PID/status, in bytes.
type Memory struct {
	RSS, HWM   int64 // VmRSS and VmHWM
	Anon, File int64 // RssAnon and RssFile: VmRSS is their sum (plus RssShmem)
}

// Max returns the larger of m's and o's figures, each on its own.
func (m Memory) Max(o Memory) Memory {
	return Memory{RSS: max(m.RSS, o.RSS), HWM: max(m.HWM, o.HWM), Anon: max(m.Anon, o.Anon), File: max(m.File, o.File)}
}

// ReadMemory reads the resident set of pid.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	m, err := parseStatus(string(b))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	return m, nil
}

// parseStatus takes the resident set from the text of /proc/PID/status.
func parseStatus(status string) (Memory, error) {
	var m Memory
	fields := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	found := 0
	for line := range strings.Lines(status) {
		key, val, _ := strings.Cut(line, ":")
		dst, ok := fields[key]
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("parse %s: %w", key, err)
		}
		*dst = kb << 10
		found++
	}
	if found != len(fields) {
		return Memory{}, fmt.Errorf("parse /proc status: found %d of VmRSS, VmHWM, RssAnon and RssFile", found)
	}
	return m, nil
}

// ReadCPU returns the user plus system CPU time pid has used.
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	return parseStat(b)
}

// parseStat takes utime and stime (fields 14 and 15) from a
// /proc/PID/stat line. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc stat %.40q: no command name", b)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc stat cpu time %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// ReadRunWait returns the time the threads of pid now running have spent
// runnable but waiting for a CPU, from each thread's
// /proc/PID/task/TID/schedstat (the second of its three numbers, in
// nanoseconds). Threads that have exited no longer count, so read it
// around stretches in which the process keeps its threads, as a Go
// process does.
func ReadRunWait(pid int) (time.Duration, error) {
	paths, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(paths) == 0 {
		return 0, fmt.Errorf("read run-queue wait of pid %d: no schedstat of its threads (a kernel without CONFIG_SCHED_INFO?)", pid)
	}
	var total time.Duration
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread exited since the glob
		}
		if err != nil {
			return 0, fmt.Errorf("read run-queue wait of pid %d: %w", pid, err)
		}
		w, err := parseSchedstat(b)
		if err != nil {
			return 0, fmt.Errorf("read run-queue wait of pid %d: %w", pid, err)
		}
		total += w
	}
	return total, nil
}

// parseSchedstat takes the run-queue wait from a schedstat line: time on
// the CPU, time waiting on a run queue (both in nanoseconds), timeslices.
func parseSchedstat(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return 0, fmt.Errorf("parse schedstat %.40q: %d fields, want 3", b, len(f))
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse schedstat wait %q: %w", f[1], err)
	}
	return time.Duration(ns), nil
}

// SelfCPU returns the user plus system CPU time this process has used, or
// 0 if it cannot be read.
func SelfCPU() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// LoadAverage returns the first three fields of /proc/loadavg, or
// "unknown".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// MachineCPU is the machine's CPU time over all CPUs, from the first line
// of /proc/stat, in clock ticks.
type MachineCPU struct {
	// Total is every kind of time the line counts up to steal: user, nice,
	// system, idle, iowait, irq, softirq and steal (guest time is already
	// in user).
	Total int64
	// Steal is the time the hypervisor ran something else while this
	// virtual machine's CPUs had work: on a shared host, the busier the
	// neighbours, the larger it is.
	Steal int64
}

// StealShare returns the share of the machine's CPU time stolen by the
// hypervisor between m and a later reading, from 0 to 1; 0 when no time
// passed.
func (m MachineCPU) StealShare(later MachineCPU) float64 {
	total := later.Total - m.Total
	if total <= 0 {
		return 0
	}
	return float64(later.Steal-m.Steal) / float64(total)
}

// ReadMachineCPU reads the machine's CPU times.
func ReadMachineCPU() (MachineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, fmt.Errorf("read machine cpu time: %w", err)
	}
	return parseMachineCPU(b)
}

// parseMachineCPU takes the "cpu" line of /proc/stat: user nice system
// idle iowait irq softirq steal, then guest times a kernel may add.
func parseMachineCPU(b []byte) (MachineCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return MachineCPU{}, fmt.Errorf("parse /proc/stat %.60q: want a cpu line with at least 8 times", line)
	}
	var m MachineCPU
	for i, s := range f[1:9] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("parse /proc/stat time %q: %w", s, err)
		}
		m.Total += n
		if i == 7 {
			m.Steal = n
		}
	}
	return m, nil
}
