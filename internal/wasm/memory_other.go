//go:build !unix

package wasm

// newBacking keeps linear memory on the Go heap where address space cannot
// be reserved portably.
func newBacking(capacity, limit uint64, _ *mappings) backing {
	return &sliceBacking{buf: make([]byte, 0, capacity), limit: limit}
}

// mappings has nothing to keep without mmap.
type mappings struct{}

func (*mappings) close() {}

// prepare has nothing to prepare without mmap.
func (*mappings) prepare(limit, size uint64) {}
