package lifecycle

import (
	"os"

	"golang.org/x/sys/windows"
)

// errLocked says another process holds a lock tryLock asked for.
var errLocked error = windows.ERROR_LOCK_VIOLATION

// lockOffset is where the locked byte lies: far past the file's content,
// because Windows' locks are mandatory and would keep others from reading
// the pid and address written at the start.
const lockOffset = 1 << 62

// tryLock locks one byte of f, exclusively or shared, without waiting;
// closing f releases it.
func tryLock(f *os.File, exclusive bool) error {
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	at := &windows.Overlapped{Offset: lockOffset & 0xffffffff, OffsetHigh: uint32(lockOffset >> 32)}
	return windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, at)
}
