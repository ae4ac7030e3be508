package wasm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the file at path read-only, every page mapped up front from
// the page cache (MAP_POPULATE). A warm start reads the instrumented module
// this way rather than into a new buffer: the first touches of megabytes of
// fresh memory are page faults, which cost this daemon's virtual machines
// tens of microseconds each (a 7.6 MB read: 60-100 ms at load average 8,
// against 1-4 ms to map it; docs/BENCHMARKS.md). unmap releases the mapping;
// a file truncated while mapped makes the pages past its end fault, which
// callers survive with debug.SetPanicOnFault (see compile).
func mapFile(path string) (b []byte, unmap func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := fi.Size()
	if size <= 0 || size != int64(int(size)) {
		return nil, nil, fmt.Errorf("%s: cannot map %d bytes", path, size)
	}
	b, err = unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_POPULATE)
	if err != nil {
		return nil, nil, &os.PathError{Op: "mmap", Path: path, Err: err}
	}
	return b, func() { unix.Munmap(b) }, nil
}
