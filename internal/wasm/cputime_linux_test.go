package wasm_test

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime is the CPU time the process has used, all threads, user and
// system: on a shared machine, a steadier measure of work than wall time.
func cpuTime() time.Duration { return rusage(syscall.RUSAGE_SELF) }

// threadCPUTime is the CPU time of the calling thread: lock the goroutine
// to its thread (runtime.LockOSThread) to measure work done inline. It
// reads the thread's CPU clock, which is exact, not getrusage's
// RUSAGE_THREAD, whose user and system times are scaled from the tick's
// samples: its differences over one call of some milliseconds were off
// by several per cent, in either direction.
func threadCPUTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func threadSwitches() (vol, invol int64) {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru)
	return ru.Nvcsw, ru.Nivcsw
}
