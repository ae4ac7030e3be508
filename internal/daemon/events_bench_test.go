package daemon

import (
	"context"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/events"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
)

type benchItem struct{}

func (benchItem) IsHealthy(context.Context) bool { return true }
func (benchItem) Reset(context.Context) error    { return nil }
func (benchItem) Close() error                   { return nil }

// BenchmarkCheckoutWithSubscribers measures a pool's checkout and release
// with its events forwarded to the bus the way the daemon does it, with no
// subscriber, with one that wants every kind but checkouts, and with one
// that asked for checkouts and returns but never reads (its buffer is full
// after the first few operations, so every publish drops the oldest). A
// stalled subscriber must not slow the pool down much: publishing never
// blocks.
func BenchmarkCheckoutWithSubscribers(b *testing.B) {
	for _, bc := range []struct {
		name string
		sub  *events.Filter
	}{
		{"subscribers=none", nil},
		{"subscriber=default-kinds", &events.Filter{}},
		{"subscriber=stalled-checkouts", &events.Filter{Kinds: []events.Kind{events.InstanceCheckedOut, events.InstanceReturned}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := &Daemon{bus: events.NewBus(events.Config{})}
			defer d.bus.Close()
			if bc.sub != nil {
				sub := d.bus.Subscribe(*bc.sub, 16)
				defer sub.Close()
			}
			ctx := context.Background()
			p, err := pool.New(ctx, pool.Config{Name: "bench", MinSize: 4, MaxSize: 4, OnEvent: d.poolEvent},
				func(context.Context) (benchItem, error) { return benchItem{}, nil })
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(ctx)
			if err := p.WaitReady(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				h, err := p.Checkout(ctx)
				if err != nil {
					b.Fatal(err)
				}
				h.Release()
			}
		})
	}
}
