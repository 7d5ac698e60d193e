//go:build linux

package evloop

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The calls below never block: the sockets are non-blocking and the
// epoll_wait has a zero timeout. Made as raw system calls, they skip the
// runtime's bookkeeping for calls that may block, and the loop's thread
// keeps its P (a P left in a system call past 20 µs is taken back by the
// runtime's monitor thread, which then wakes every 20 µs to look again).

// readNow reads from a non-blocking descriptor.
func readNow(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// writeNow writes to a non-blocking descriptor.
func writeNow(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// pollNow returns the events ready now, without waiting.
func pollNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
