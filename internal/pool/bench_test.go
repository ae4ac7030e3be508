package pool

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/puddle/v2"
)

// benchItem is a Poolable whose methods cost next to nothing, so that the
// benchmarks measure the pools.
type benchItem struct{ n int }

func (*benchItem) IsHealthy(context.Context) bool { return true }
func (*benchItem) Reset(context.Context) error    { return nil }
func (*benchItem) Close() error                   { return nil }

const benchPoolSize = 64

// BenchmarkCheckoutRelease measures the hot path: an uncontended checkout
// of an idle item and its release (Reset included, for every impl). chan is
// the floor: a buffered channel of items with no bookkeeping at all.
func BenchmarkCheckoutRelease(b *testing.B) {
	ctx := context.Background()
	type impl struct {
		name string
		// setup returns one checkout+release cycle and a cleanup.
		setup func(b *testing.B) (cycle func(), cleanup func())
	}
	impls := []impl{
		{"riptide", func(b *testing.B) (func(), func()) {
			p, err := New(ctx, Config{
				Name: "bench", MinSize: benchPoolSize, MaxSize: benchPoolSize,
				// Realistic settings: they put clock reads on Release.
				IdleTimeout: time.Minute, MaxLifetime: time.Hour,
			}, func(context.Context) (*benchItem, error) { return &benchItem{}, nil })
			if err != nil {
				b.Fatal(err)
			}
			if err := p.WaitReady(ctx); err != nil {
				b.Fatal(err)
			}
			return func() {
					h, err := p.Checkout(ctx)
					if err != nil {
						b.Fatal(err)
					}
					h.Value().n++
					h.Release()
				}, func() {
					if err := p.Close(ctx); err != nil {
						b.Fatal(err)
					}
				}
		}},
		{"puddle", func(b *testing.B) (func(), func()) {
			p, err := puddle.NewPool(&puddle.Config[*benchItem]{
				Constructor: func(context.Context) (*benchItem, error) { return &benchItem{}, nil },
				Destructor:  func(v *benchItem) { _ = v.Close() },
				MaxSize:     benchPoolSize,
			})
			if err != nil {
				b.Fatal(err)
			}
			for range benchPoolSize {
				if err := p.CreateResource(ctx); err != nil {
					b.Fatal(err)
				}
			}
			return func() {
				r, err := p.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				r.Value().n++
				if err := r.Value().Reset(ctx); err != nil {
					r.Destroy()
					return
				}
				r.Release()
			}, p.Close
		}},
		{"chan", func(b *testing.B) (func(), func()) {
			ch := make(chan *benchItem, benchPoolSize)
			for range benchPoolSize {
				ch <- &benchItem{}
			}
			return func() {
				v := <-ch
				v.n++
				if err := v.Reset(ctx); err != nil {
					b.Fatal(err)
				}
				ch <- v
			}, func() {}
		}},
	}
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) {
			b.Run("serial", func(b *testing.B) {
				cycle, cleanup := im.setup(b)
				defer cleanup()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					cycle()
				}
			})
			b.Run("parallel", func(b *testing.B) {
				cycle, cleanup := im.setup(b)
				defer cleanup()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						cycle()
					}
				})
			})
		})
	}
}

func BenchmarkStats(b *testing.B) {
	ctx := context.Background()
	p, err := New(ctx, Config{Name: "bench", MinSize: 8, MaxSize: 8},
		func(context.Context) (*benchItem, error) { return &benchItem{}, nil })
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Stats()
	}
}

// BenchmarkWatch is what Pool.Watch adds to a call, the way the server uses
// it: a checkout and release on a call's cancellable context, without and
// with Watch around the work.
func BenchmarkWatch(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := New(ctx, Config{Name: "bench", MinSize: benchPoolSize, MaxSize: benchPoolSize},
		func(context.Context) (*benchItem, error) { return &benchItem{}, nil })
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	for _, watch := range []bool{false, true} {
		name := "watch=false"
		if watch {
			name = "watch=true"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				call, end := context.WithCancel(ctx)
				h, err := p.Checkout(call)
				if err != nil {
					b.Fatal(err)
				}
				if watch {
					p.Watch(call)()
				}
				h.Release()
				end()
			}
		})
	}
}
