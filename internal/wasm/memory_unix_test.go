//go:build unix

package wasm

import (
	"bytes"
	"testing"
)

func TestMappingReuseIsZeroed(t *testing.T) {
	var pool mappings
	defer pool.close()
	const limit = 1 << 20
	first := newBacking(0, limit, &pool)
	mem := first.resize(2 * pageSize)
	for i := range mem {
		mem[i] = 0xAA
	}
	first.free()
	second := newBacking(0, limit, &pool)
	if second != first {
		t.Fatal("the freed mapping was not reused")
	}
	if mem := second.resize(pageSize); !bytes.Equal(mem, make([]byte, pageSize)) {
		t.Error("a reused mapping is not zero")
	}
	if mem := second.resize(3 * pageSize); !bytes.Equal(mem, make([]byte, 3*pageSize)) {
		t.Error("a reused mapping is not zero once grown")
	}
	if second.resize(limit+pageSize) != nil {
		t.Error("grew past the reservation")
	}
	second.free()
	if other := newBacking(0, 2*limit, &pool); other == second {
		t.Error("a mapping of another size was reused")
	} else {
		other.free()
	}
}

func TestMappingsKeepFewAndSmall(t *testing.T) {
	var pool mappings
	const limit = 64 << 20
	var all []backing
	for range maxFreeMappings + 2 {
		all = append(all, newBacking(0, limit, &pool))
	}
	big := all[0]
	big.resize(maxReusedCommitment + pageSize)
	for _, b := range all {
		b.free()
	}
	if n := len(pool.free); n != maxFreeMappings {
		t.Errorf("%d mappings kept; want %d", n, maxFreeMappings)
	}
	for _, m := range pool.free {
		if m == big {
			t.Error("a mapping over maxReusedCommitment was kept")
		}
	}
	pool.close()
	if len(pool.free) != 0 {
		t.Error("close kept mappings")
	}
	b := newBacking(0, limit, &pool)
	b.free()
	if len(pool.free) != 0 {
		t.Error("a closed pool kept a mapping")
	}
}

func TestPreparedMapping(t *testing.T) {
	const limit, size = 4 << 20, 1 << 20
	var pool mappings
	defer pool.close()
	pool.prepare(limit, size)
	if len(pool.free) != 1 {
		t.Fatalf("%d mappings after prepare; want 1", len(pool.free))
	}
	pool.prepare(limit, size)
	if len(pool.free) != 1 {
		t.Errorf("prepare added a mapping with one of that limit free")
	}
	b := newBacking(0, limit, &pool)
	m, ok := b.(*mmapBacking)
	if !ok || m.committed != size || m.dirty {
		t.Fatalf("newBacking did not take the prepared mapping: %#v", b)
	}
	if mem := b.resize(size + pageSize); !bytes.Equal(mem, make([]byte, size+pageSize)) {
		t.Error("a prepared mapping is not zero")
	}
	if b.resize(limit+pageSize) != nil {
		t.Error("grew past the reservation")
	}
	b.free()

	pool.prepare(2*limit, 2*limit+size) // a size past the limit is capped
	if n := len(pool.free); n != 2 {
		t.Fatalf("%d mappings; want 2", n)
	} else if m := pool.free[1]; m.committed != 2*limit {
		t.Errorf("committed %d bytes of a %d-byte mapping", m.committed, 2*limit)
	}

	pool.close()
	pool.prepare(limit, size)
	if len(pool.free) != 0 {
		t.Error("a closed pool kept a prepared mapping")
	}
}
