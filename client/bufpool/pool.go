// Package bufpool is a gRPC buffer pool (mem.BufferPool) with a size class
// per power of two, for messages that hold whole web pages. The daemon and
// its Go client both install it: grpc-go's default pool jumps from 32 KiB to
// 1 MiB classes and clears the whole buffer on every Get, so that
// marshalling any message from 32 KiB to 1 MiB clears a 1 MiB buffer
// (internal/grpcwire's package comment and docs/BENCHMARKS.md).
package bufpool

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/mem"
)

// minExponent is the smallest class; grpc-go does not pool buffers under
// 1 KiB, and smaller ones are cheap to allocate.
const minExponent = 8

// Pool is a mem.BufferPool with one sync.Pool per power-of-two size from
// 256 bytes to a maximum. Get(n) of a larger n allocates and Put forgets
// such buffers, so a rare huge message does not pin its memory.
//
// Unlike grpc-go's default pool, Get does not clear the buffer: grpc-go uses
// a buffer of length n only after writing all n bytes (reading a frame,
// marshalling a message) and never reads past n, so stale bytes beyond the
// length are never seen. grpc-go's own internal "dirty" pool relies on the
// same argument.
type Pool struct {
	classes []sync.Pool // classes[i] holds buffers of capacity 1<<(i+minExponent)
}

var _ mem.BufferPool = (*Pool)(nil)

// New returns a Pool whose largest class holds maxMessage bytes.
func New(maxMessage int) *Pool {
	top := max(exponent(maxMessage), minExponent)
	return &Pool{classes: make([]sync.Pool, top-minExponent+1)}
}

// exponent returns the smallest e with 1<<e >= n.
func exponent(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// Get returns a buffer of length n. Its contents are unspecified.
func (p *Pool) Get(n int) *[]byte {
	i := max(exponent(n), minExponent) - minExponent
	if i >= len(p.classes) {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.classes[i].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<(i+minExponent))
	return &b
}

// Put returns a buffer obtained from Get to its class. Buffers whose
// capacity is not exactly a class size (not from this pool) are dropped.
func (p *Pool) Put(b *[]byte) {
	c := cap(*b)
	if c < 1<<minExponent || c&(c-1) != 0 {
		return
	}
	i := bits.Len(uint(c)) - 1 - minExponent
	if i >= len(p.classes) {
		return
	}
	p.classes[i].Put(b)
}
