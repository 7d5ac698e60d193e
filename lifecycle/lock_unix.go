//go:build unix

package lifecycle

import (
	"os"

	"golang.org/x/sys/unix"
)

// errLocked says another process holds a lock tryLock asked for.
var errLocked error = unix.EWOULDBLOCK

// tryLock takes an advisory lock on f, exclusive or shared, without
// waiting; closing f releases it.
func tryLock(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	return unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
}
