package native

import (
	"runtime"
	"testing"
)

// maxExtractorBytes is the design target for one pooled native extractor.
const maxExtractorBytes = 64 << 10

// TestExtractorMemory measures the heap cost of a freshly made extractor,
// averaged over many, and holds it to the design target.
func TestExtractorMemory(t *testing.T) {
	const n = 1000
	sc, pc := NewSelectorCache(0), NewPatternCache(0)
	for _, tt := range []struct {
		name string
		make func() any
	}{
		{"css", func() any { return NewCSS(sc, Limits{}) }},
		{"regex", func() any { return NewRegex(pc, Limits{}) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			per := heapPer(n, tt.make)
			t.Logf("%s extractor: %d bytes each (over %d)", tt.name, per, n)
			if per > maxExtractorBytes {
				t.Errorf("%s extractor takes %d bytes, target < %d", tt.name, per, maxExtractorBytes)
			}
		})
	}
}

// TestExtractorMemoryAfterLargeDocument checks that Reset brings an
// extractor that served a large page back under the target.
func TestExtractorMemoryAfterLargeDocument(t *testing.T) {
	doc := mustDoc(t, largePage())
	if _, err := doc.Root(); err != nil { // parse outside the measurement
		t.Fatal(err)
	}
	per := heapPer(20, func() any {
		c := NewCSS(nil, Limits{})
		if _, _, err := c.Select(t.Context(), doc, CSSSpec{Selector: "body"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Select(t.Context(), doc, CSSSpec{Selector: "p", All: true}); err != nil {
			t.Fatal(err)
		}
		if err := c.Reset(t.Context()); err != nil {
			t.Fatal(err)
		}
		return c
	})
	runtime.KeepAlive(doc) // or its collection would hide the extractors' cost
	// The private cache of nil counts here too; the pooled case shares one.
	t.Logf("css extractor after a large page and Reset: %d bytes each", per)
	if per > maxExtractorBytes {
		t.Errorf("css extractor after Reset takes %d bytes, target < %d", per, maxExtractorBytes)
	}
}

// heapPer returns the live heap bytes per value made by mk, n of them.
func heapPer(n int, mk func() any) int {
	keep := make([]any, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = mk()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return int(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc)) / n
}

func largePage() string {
	b := make([]byte, 0, 1<<20)
	b = append(b, "<html><body>"...)
	for len(b) < 1<<20 {
		b = append(b, "<p>lorem ipsum dolor sit amet, consectetur adipiscing elit</p>"...)
	}
	return string(append(b, "</body></html>"...))
}
