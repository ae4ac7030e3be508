//go:build !unix

package wasm

// newBacking keeps linear memory on the Go heap where address space cannot
// be reserved portably.
func newBacking(capacity, limit uint64) backing {
	return &sliceBacking{buf: make([]byte, 0, capacity), limit: limit}
}
