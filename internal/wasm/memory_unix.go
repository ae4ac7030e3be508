//go:build unix

package wasm

import (
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// newBacking reserves address space for the whole cap and makes pages
// accessible as the memory grows: growing never copies, only the pages the
// guest touches take physical memory, and the memory stays out of the Go
// heap (whose collector would otherwise pace itself on it). The reservation
// is PROT_NONE, so it counts against no commit limit until it is used. A
// mapping of a closed instance is reused when one is free; should mapping
// fail, the memory goes on the Go heap.
func newBacking(capacity, limit uint64, free *mappings) backing {
	if m := free.get(limit); m != nil {
		return m
	}
	mapped, err := unix.Mmap(-1, 0, int(limit), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return &sliceBacking{buf: make([]byte, 0, capacity), limit: limit}
	}
	adviseHugePages(mapped)
	return &mmapBacking{mapped: mapped, pool: free}
}

// mmapBacking is a linear memory in its own mapping, outside the Go heap.
// wazero calls free once no call can run any more: after that, touching the
// memory would fault.
type mmapBacking struct {
	mapped    []byte // the reservation, of the cap's size
	committed uint64 // bytes made readable and writable, from the start
	dirty     bool   // committed bytes may be non-zero
	pool      *mappings
}

func (m *mmapBacking) resize(size uint64) []byte {
	if m.mapped == nil || size > uint64(len(m.mapped)) {
		return nil
	}
	if m.dirty {
		// A reused mapping: memory a guest is given must read as zero.
		clear(m.mapped[:m.committed])
		m.dirty = false
	}
	if size > m.committed {
		// Linear memory grows by 64 KiB pages, a multiple of the OS page.
		if err := unix.Mprotect(m.mapped[m.committed:size], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil
		}
		m.committed = size
	}
	return m.mapped[:size:size]
}

func (m *mmapBacking) free() {
	if m.mapped == nil {
		return
	}
	if !m.pool.put(m) {
		unix.Munmap(m.mapped)
	}
}

// mappings keeps a few mappings of closed instances for new ones: a new
// mapping faults on every page the guest touches (the Go runtime of a Go
// guest touches megabytes as it starts), where a reused one only needs
// clearing, and a pool replaces its broken instances all day.
type mappings struct {
	mu     sync.Mutex
	free   []*mmapBacking
	closed bool
}

// Reuse only small mappings, and few: they hold physical memory while idle.
const (
	maxFreeMappings     = 4
	maxReusedCommitment = 16 << 20
)

func (p *mappings) get(limit uint64) *mmapBacking {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, m := range p.free {
		if uint64(len(m.mapped)) == limit {
			p.free = append(p.free[:k], p.free[k+1:]...)
			return m
		}
	}
	return nil
}

// put keeps m for reuse, or reports false if the caller must unmap it.
func (p *mappings) put(m *mmapBacking) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.free) >= maxFreeMappings || m.committed > maxReusedCommitment {
		return false
	}
	m.dirty = true
	p.free = append(p.free, m)
	return true
}

// prepare adds a mapping of limit bytes whose first size bytes are already
// committed and faulted in, unless one of that limit is free: the next
// instance then starts as fast as on a reused mapping. Load prepares one
// for the probe's instance while the module compiles, which leaves a core
// idle: on a fresh mapping the probe took 21 ms, on a faulted one 8 ms.
func (p *mappings) prepare(limit, size uint64) {
	size = min(size, limit, maxReusedCommitment)
	p.mu.Lock()
	have := p.closed || slices.ContainsFunc(p.free, func(m *mmapBacking) bool { return uint64(len(m.mapped)) == limit })
	p.mu.Unlock()
	if have {
		return
	}
	mapped, err := unix.Mmap(-1, 0, int(limit), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return
	}
	adviseHugePages(mapped)
	if err := unix.Mprotect(mapped[:size], unix.PROT_READ|unix.PROT_WRITE); err != nil {
		unix.Munmap(mapped)
		return
	}
	// One write per OS page faults the memory in (a huge page at a time
	// where the kernel grants them) and leaves it zero.
	for i := 0; i < int(size); i += unix.Getpagesize() {
		mapped[i] = 0
	}
	m := &mmapBacking{mapped: mapped, committed: size, pool: p}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.free) >= maxFreeMappings {
		unix.Munmap(mapped)
		return
	}
	p.free = append(p.free, m)
}

// close unmaps the mappings kept and stops keeping more.
func (p *mappings) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, m := range p.free {
		unix.Munmap(m.mapped)
	}
	p.free = nil
}
