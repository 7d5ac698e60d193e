// Package memtrim gives back, once a process has started, the pages of its
// own executable it touched only while starting: code and read-only data
// of package initialisation it will not run again.
//
// A Go binary that links many packages runs every package's initialisation
// at start, whichever role it then plays, and the kernel maps in the code
// around each piece it runs (fault-around). For pylon that is about 11 MB of
// its resident set that no request ever uses again.
package memtrim
