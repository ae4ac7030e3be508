package lease

import (
	"context"
	"sync"
	"testing"
	"time"
)

// BenchmarkUse measures Use on an existing lease against a baseline that
// does the least a lease table could: look the ID up in a map under a mutex
// and run the callback under a per-lease mutex.
func BenchmarkUse(b *testing.B) {
	ctx := context.Background()
	h := newHeld()
	fn := func(Held) error { return nil }

	b.Run("baseline", func(b *testing.B) {
		var mu sync.Mutex
		type entry struct {
			mu   sync.Mutex
			held Held
		}
		m := map[string]*entry{newID(): {held: h}}
		var id string
		for k := range m {
			id = k
		}
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			e := m[id]
			mu.Unlock()
			e.mu.Lock()
			_ = fn(e.held)
			e.mu.Unlock()
		}
	})

	b.Run("table", func(b *testing.B) {
		// The real clock: Use reads it once per call.
		tbl, err := New(Config{DefaultTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		defer tbl.Close(ctx)
		l, err := tbl.Add("css", "css-1", h, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := tbl.Use(ctx, l.ID, fn); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("table-parallel", func(b *testing.B) {
		// One lease per goroutine: contention on the table's mutex only.
		tbl, err := New(Config{DefaultTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		defer tbl.Close(ctx)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			l, err := tbl.Add("css", "css-1", newHeld(), 0)
			if err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				if err := tbl.Use(ctx, l.ID, fn); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
