//go:build unix

package wasm

import "golang.org/x/sys/unix"

// newBacking reserves address space for the whole cap and makes pages
// accessible as the memory grows: growing never copies, and only the pages
// the guest touches take physical memory. The reservation is PROT_NONE, so
// it counts against no commit limit until it is used. Should the mapping
// fail, it falls back to the Go heap.
func newBacking(capacity, limit uint64) backing {
	mapped, err := unix.Mmap(-1, 0, int(limit), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return &sliceBacking{buf: make([]byte, 0, capacity), limit: limit}
	}
	return &mmapBacking{mapped: mapped}
}

// mmapBacking is a linear memory in its own mapping, outside the Go heap.
// wazero calls free once no call can run any more: after that, touching the
// memory would fault.
type mmapBacking struct {
	mapped    []byte // the reservation, of the cap's size
	committed uint64 // bytes made readable and writable, from the start
}

func (m *mmapBacking) resize(size uint64) []byte {
	if m.mapped == nil {
		return nil
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
	if m.mapped != nil {
		unix.Munmap(m.mapped)
		m.mapped = nil
	}
}
