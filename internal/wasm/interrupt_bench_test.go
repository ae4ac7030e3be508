package wasm

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// BenchmarkCheckInterrupt measures a guest's call of the interruption
// check (checkInterrupt), which the bundled article module makes about
// every 19 µs: the way out of wazero's machine code and back, the
// deadline's check and, with a Tick in the context, the Tick. The tick
// here does what the pool's slot tick does between its looks for waiting
// callers (BenchmarkSlotTick in internal/wasmpool times that one): it reads
// the clock.
//
//	go test ./internal/wasm -run '^$' -bench 'BenchmarkCheckInterrupt' -count 6
func BenchmarkCheckInterrupt(b *testing.B) {
	ctx := context.Background()
	r, err := NewRuntime(ctx, RuntimeConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(ctx)
	bin, err := os.ReadFile(filepath.Join("testdata", "hostcall.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	compiled, err := r.plain.CompileModule(ctx, bin)
	if err != nil {
		b.Fatal(err)
	}
	mod, err := r.plain.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("hostcall"))
	if err != nil {
		b.Fatal(err)
	}
	spin := mod.ExportedFunction("spin")
	// A call's context, as invoke's: bounded by a deadline.
	callCtx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	next := time.Now().Add(time.Hour)
	tick := func(context.Context) error {
		if time.Now().Before(next) {
			return nil
		}
		return nil
	}
	const calls = 1000
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{
		{"no-tick", callCtx},
		{"tick", WithTick(callCtx, tick)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := spin.Call(bc.ctx, calls); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*calls), "ns/check")
		})
	}
}
