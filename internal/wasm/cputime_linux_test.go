package wasm_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, all threads, user and
// system: on a shared machine, a steadier measure of work than wall time.
func cpuTime() time.Duration { return rusage(syscall.RUSAGE_SELF) }

// threadCPUTime is the CPU time of the calling thread: lock the goroutine
// to its thread (runtime.LockOSThread) to measure work done inline.
func threadCPUTime() time.Duration { return rusage(1) } // RUSAGE_THREAD

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
