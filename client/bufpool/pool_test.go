package bufpool

import (
	"strconv"
	"testing"
)

func TestPoolGet(t *testing.T) {
	p := New(100_000) // classes up to 128 KiB
	tests := []struct {
		n, wantCap int
	}{
		{0, 256},
		{1, 256},
		{256, 256},
		{257, 512},
		{16 << 10, 16 << 10},
		{87_454, 128 << 10},
		{128 << 10, 128 << 10},
		{128<<10 + 1, 128<<10 + 1}, // past the largest class: exact, unpooled
	}
	for _, tt := range tests {
		b := p.Get(tt.n)
		if len(*b) != tt.n || cap(*b) != tt.wantCap {
			t.Errorf("Get(%d): len %d cap %d, want len %d cap %d", tt.n, len(*b), cap(*b), tt.n, tt.wantCap)
		}
		p.Put(b)
	}
}

func TestPoolPutForeign(t *testing.T) {
	p := New(1 << 16)
	for _, c := range []int{0, 100, 300, 1 << 20} {
		b := make([]byte, 0, c)
		p.Put(&b) // must not panic, nor land in a class it does not fit
	}
	odd := make([]byte, 300)
	p.Put(&odd)
	if b := p.Get(300); cap(*b) != 512 {
		t.Errorf("Get(300) after Put of a 300-byte buffer: cap %d, want 512", cap(*b))
	}
}

func TestPoolReuse(t *testing.T) {
	p := New(1 << 20)
	// sync.Pool may drop items at any GC, so only check that reuse is
	// possible and allocation-free when it happens.
	allocs := testing.AllocsPerRun(100, func() {
		b := p.Get(90_000)
		(*b)[0] = 1
		p.Put(b)
	})
	if allocs > 0.5 {
		t.Errorf("Get+Put of a pooled size: %.1f allocs/op, want 0", allocs)
	}
}

func BenchmarkPool(b *testing.B) {
	for _, n := range []int{16 << 10, 90_000} {
		b.Run(sizeName(n), func(b *testing.B) {
			p := New(1 << 24)
			b.ReportAllocs()
			for b.Loop() {
				buf := p.Get(n)
				p.Put(buf)
			}
		})
	}
}

func sizeName(n int) string {
	if n%1024 == 0 {
		return strconv.Itoa(n/1024) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
