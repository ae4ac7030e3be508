package wasm

import (
	"context"
	"fmt"
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
	grant MemoryGrant   // for the new memory; nil: none
	extra uint64        // for the new memory's figures: see cappedMemory
}

func (a *cappedAllocator) Allocate(capacity, _ uint64) experimental.LinearMemory {
	a.mem = &cappedMemory{limit: a.limit, backing: newBacking(min(capacity, a.limit), a.limit, a.free), grant: a.grant, extra: a.extra}
	return a.mem
}

// cappedMemory is a linear memory that refuses to grow past limit and
// remembers that it did, and asks its grant, if any, before it grows.
type cappedMemory struct {
	limit   uint64
	backing backing
	size    atomic.Uint64 // the memory's length, readable while the guest runs
	refused atomic.Bool   // a grow past limit was refused since the last call began

	// grant is asked before the memory grows (see MemoryGrant), with the
	// instance's memory figure once grown: the new length and extra, the
	// instance's tables and stack allowance. It is not asked for the
	// memory's first allocation, the initial size the module declares,
	// which wazero cannot be refused (it would index a nil buffer) and
	// which the figure of any instance of the module already counts.
	// grant and extra are set while no call runs; refusal is written and
	// read on the goroutine of the call that grows the memory.
	grant     MemoryGrant
	extra     uint64
	allocated bool  // the first allocation is done
	refusal   error // why grant refused a grow since the last call began
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
	if m.grant != nil && m.allocated && size > m.size.Load() {
		if err := m.grant(size + m.extra); err != nil {
			m.refusal = err
			return nil
		}
	}
	m.allocated = true
	b := m.backing.resize(size)
	if b == nil {
		m.refused.Store(true)
		return nil
	}
	m.size.Store(size)
	return b
}

// begin forgets the refusals of the calls before the one beginning.
func (m *cappedMemory) begin() {
	m.refused.Store(false)
	m.refusal = nil
}

// refusedError returns ErrMemoryRefused, wrapping the grant's reason, if
// the grant refused a grow since the call began, and nil otherwise. fn
// is the export called, detail what it failed with.
func (m *cappedMemory) refusedError(module, fn, detail string) error {
	if m.refusal == nil {
		return nil
	}
	if detail != "" {
		detail = " (" + detail + ")"
	}
	return fmt.Errorf("%w: module %q: %s was stopped at %d KiB of linear memory, its growth refused%s: %w",
		ErrMemoryRefused, module, fn, m.size.Load()>>10, detail, m.refusal)
}

// MemoryGrant is asked, on the goroutine of a guest call, before the
// linear memory of an instance grows (WebAssembly's memory.grow, or a
// guest's allocator calling it), with the memory figure the instance
// will have once grown (see Instance.MemoryBytes): it returns nil to let
// the memory grow, or why not. A refused grow fails as one past the
// instance's cap does (memory.grow returns -1); if the call then fails,
// as most guests do, it ends with ErrMemoryRefused wrapping that reason,
// and the instance is unusable. What it grants is the caller's to
// account for: the instance's figure after the call includes it.
//
// It is asked only when the memory grows, not on every call, so it may
// take a lock; it must not wait for anything a guest call holds.
type MemoryGrant func(figure uint64) error

type memoryGrantKey struct{}

// WithMemoryGrant returns a context whose instance creations
// (Module.NewInstance) ask grant before the new instance's linear memory
// grows past its initial size, during the guest's initialization and
// after it, until Instance.SetMemoryGrant replaces it.
func WithMemoryGrant(ctx context.Context, grant MemoryGrant) context.Context {
	return context.WithValue(ctx, memoryGrantKey{}, grant)
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
