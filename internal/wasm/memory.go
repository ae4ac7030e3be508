package wasm

import (
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// pageSize is the size of a WebAssembly memory page.
const pageSize = 64 << 10

// cappedAllocator backs each instance's linear memory with a cappedMemory.
// The cap is enforced here rather than with wazero's WithMemoryLimitPages
// because wazero refuses a grow over its limit without telling anyone, and
// the host must tell a guest that died of memory exhaustion (ErrOutOfMemory)
// from one that trapped for another reason.
type cappedAllocator struct {
	limit uint64
	free  *mappings     // the runtime's mappings to reuse
	mem   *cappedMemory // set by Allocate; one allocator per instantiation
}

func (a *cappedAllocator) Allocate(capacity, _ uint64) experimental.LinearMemory {
	a.mem = &cappedMemory{limit: a.limit, backing: newBacking(min(capacity, a.limit), a.limit, a.free)}
	return a.mem
}

// cappedMemory is a linear memory that refuses to grow past limit and
// remembers that it did.
type cappedMemory struct {
	limit   uint64
	backing backing
	size    atomic.Uint64 // the memory's length, readable while the guest runs
	refused atomic.Bool   // a grow was refused since the last call began
}

// backing holds the bytes of a linear memory.
type backing interface {
	// resize returns the memory with its length set to size, its contents
	// kept and the new bytes zero; nil if it cannot.
	resize(size uint64) []byte
	free()
}

func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused.Store(true)
		return nil
	}
	b := m.backing.resize(size)
	if b == nil {
		m.refused.Store(true)
		return nil
	}
	m.size.Store(size)
	return b
}

func (m *cappedMemory) Free() {
	if m.backing != nil {
		m.backing.free()
	}
	m.size.Store(0)
}

// sliceBacking is a backing on the Go heap: portable, but growing copies the
// memory and leaves spare capacity.
type sliceBacking struct {
	buf   []byte
	limit uint64
}

func (s *sliceBacking) resize(size uint64) []byte {
	if size > uint64(cap(s.buf)) {
		// Grow by a quarter at least, as append does for large slices: a Go
		// guest grows its heap a few MiB at a time, and copying the whole
		// memory on each of those would be quadratic.
		newCap := min(max(size, uint64(cap(s.buf))+uint64(cap(s.buf))/4), s.limit)
		buf := make([]byte, size, newCap)
		copy(buf, s.buf)
		s.buf = buf
	}
	s.buf = s.buf[:size]
	return s.buf
}

func (s *sliceBacking) free() { s.buf = nil }

// stderrExcerpt keeps the first bytes a guest writes to its standard error:
// a Go guest prints its panic or fatal error there before exiting, which is
// the best explanation of a trap the host can give.
type stderrExcerpt struct {
	mu  sync.Mutex
	buf []byte
}

// maxStderrExcerpt is what is kept of a call's standard error; guestText
// then cuts it to MaxGuestTextBytes with an ellipsis if need be.
const maxStderrExcerpt = MaxGuestTextBytes + 1

func (w *stderrExcerpt) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := maxStderrExcerpt - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// take returns what was written since the last take, made valid UTF-8 (an
// honest message may be cut mid-character) and at most MaxGuestTextBytes.
func (w *stderrExcerpt) take() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return ""
	}
	s := guestText(string(w.buf), MaxGuestTextBytes)
	w.buf = w.buf[:0]
	return s
}
