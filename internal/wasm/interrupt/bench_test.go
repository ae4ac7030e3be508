package interrupt_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm/interrupt"
	"github.com/tetratelabs/wazero"
)

// BenchmarkTightLoops runs functions of testdata/loops.wasm as given and
// instrumented, one after the other in each iteration, and reports the
// median of the iterations' ratios, instrumented time over original: the
// checks' cost on loops of a few instructions (sum, nested) and on calls
// of static functions in a loop (calls), where nothing but the checks
// runs.
//
//	go test ./internal/wasm/interrupt -run '^$' -bench BenchmarkTightLoops -benchtime 100x -count 6
func BenchmarkTightLoops(b *testing.B) {
	for _, bc := range []struct {
		fn     string
		params []uint64
	}{
		{"sum", []uint64{1 << 20}},
		{"calls", []uint64{1 << 16, 0}},
		{"nested", []uint64{1 << 10}},
	} {
		b.Run(bc.fn, func(b *testing.B) {
			h := newHarness(b, wazero.NewRuntimeConfigCompiler())
			bin := readTestdata(b, "loops.wasm")
			out, err := interrupt.Instrument(bin, interrupt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			orig := h.instantiate(b, bin).ExportedFunction(bc.fn)
			inst := h.instantiate(b, out).ExportedFunction(bc.fn)
			var ratios []float64
			for b.Loop() {
				start := time.Now()
				if _, err := orig.Call(ctx, bc.params...); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if _, err := inst.Call(ctx, bc.params...); err != nil {
					b.Fatal(err)
				}
				ratios = append(ratios, float64(time.Since(mid))/float64(mid.Sub(start)))
			}
			slices.Sort(ratios)
			b.ReportMetric(ratios[len(ratios)/2], "x-original-instrumented")
		})
	}
}
