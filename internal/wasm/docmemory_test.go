package wasm_test

import (
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// largePage is a corpus page of at least largePageBytes.
type largePage struct {
	name, html, url string
}

// largePageBytes is the smallest page the memory measurements take: below
// it, the guest's fixed costs hide what a document byte costs.
const largePageBytes = 256 << 10

// largePages returns the pages of both corpus sets (readability and the
// trafilatura evaluation set) of at least largePageBytes, largest first, or
// skips the test when neither set is there.
func largePages(t testing.TB) []largePage {
	t.Helper()
	var pages []largePage
	if dir, ok := quality.FindCorpus(filepath.Join("..", "..", "..", "shared", "corpus", "readability")); ok {
		dirs, err := quality.Pages(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			if st, err := os.Stat(filepath.Join(d, "source.html")); err != nil || st.Size() < largePageBytes {
				continue
			}
			src, err := quality.Source(d)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, largePage{"readability/" + filepath.Base(d), src, quality.PageURL})
		}
	}
	if dir, ok := quality.FindEvalSet(filepath.Join("..", "..", "..", "shared", "corpus", "trafilatura-eval")); ok {
		cases, err := quality.LoadEval(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if st, err := os.Stat(filepath.Join(dir, c.Page)); err != nil || st.Size() < largePageBytes {
				continue
			}
			src, err := quality.ReadEvalPage(dir, c)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, largePage{"trafilatura-eval/" + c.Page, src, c.URL})
		}
	}
	if len(pages) == 0 {
		t.Skip("no corpus: neither ../shared/corpus/readability nor trafilatura-eval (RIPTIDE_CORPUS_DIR, RIPTIDE_EVAL_DIR)")
	}
	slices.SortFunc(pages, func(a, b largePage) int { return cmp.Compare(len(b.html), len(a.html)) })
	return pages
}

// BenchmarkArticleMemoryPerByte measures what a document costs the bundled
// article module in linear memory. First under the daemon's default
// instance cap (64 MiB; GOMEMLIMIT 48 MiB, the guest's default GOGC): each
// page of both corpus sets of at least 256 KiB runs on a fresh instance,
// whose linear memory after the call (it never shrinks) less before it is
// the call's peak growth. Reported per byte of the page's HTML: the largest
// ratio, the 90th percentile and the median; the largest growth, the fresh
// instance's size and the number of pages. Then, for the pages that grew
// most per byte and the largest ones, the smallest instance cap (of
// needCaps) under which the page succeeds, where the guest's collector
// works hardest: that cap, less a fresh instance, per byte, is what the
// page needs at the least (need-bytes/byte, the largest of them). Last, under
// 64 MiB again, what the largest pages together, up to the document limit,
// take (limit-doc-growth-MiB), and what the costliest documents known per
// byte, 64 KiB of one element repeated (costlyUnits), take per byte at the
// most (costly-bytes/byte).
//
// These figures set the document limit (Module.DocumentLimit) and the rule
// that blames the document for running out of memory
// (Module.BlameDocumentBytes): see docs/wasm-abi.md, Limits.
//
//	go test -run '^$' -bench BenchmarkArticleMemoryPerByte -benchtime 1x ./internal/wasm
func BenchmarkArticleMemoryPerByte(b *testing.B) {
	pages := largePages(b)
	type measure struct {
		page        largePage
		grown, need uint64 // need: the smallest cap that served it, 0 if none did
	}
	perByte := func(n uint64, p largePage) float64 { return float64(n) / float64(len(p.html)) }
	var (
		ms               []measure
		fresh            uint64
		limitDoc, costly float64
		limitLen         int
	)
	for b.Loop() {
		rt := newRuntime(b, wasm.RuntimeConfig{InstanceMemoryLimitMB: 64, ExtractTimeout: time.Minute})
		m := loadArticle(b, rt, true)
		ms = ms[:0]
		for _, p := range pages {
			i, err := m.NewInstance(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			before := i.MemoryBytes()
			fresh = max(fresh, before)
			if _, err := i.Extract(context.Background(), wasm.Request{HTML: p.html, URL: p.url, Mode: "article"}); err != nil {
				b.Fatalf("%s: %v", p.name, err)
			}
			ms = append(ms, measure{page: p, grown: i.MemoryBytes() - before})
			i.Close()
		}
		rt.Close(context.Background())

		// The pages that grew most per byte, and the largest.
		slices.SortFunc(ms, func(x, y measure) int { return cmp.Compare(perByte(y.grown, y.page), perByte(x.grown, x.page)) })
		probe := ms[:min(len(ms), 12)]
		probe = append(probe, slices.SortedFunc(slices.Values(ms[len(probe):]), func(x, y measure) int {
			return cmp.Compare(len(y.page.html), len(x.page.html))
		})[:min(len(ms)-len(probe), 4)]...)
		for _, capMB := range needCaps {
			rt := newRuntime(b, wasm.RuntimeConfig{InstanceMemoryLimitMB: capMB, ExtractTimeout: time.Minute, MaxDocumentBytes: 64 << 20})
			m := loadArticle(b, rt, true)
			for k := range probe {
				if probe[k].need != 0 {
					continue
				}
				i, err := m.NewInstance(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				_, err = i.Extract(context.Background(), wasm.Request{HTML: probe[k].page.html, URL: probe[k].page.url, Mode: "article"})
				switch {
				case err == nil:
					probe[k].need = uint64(capMB) << 20
				case !errors.Is(err, wasm.ErrOutOfMemory) && !errors.Is(err, wasm.ErrDocumentOutOfMemory) && !errors.Is(err, wasm.ErrRequestTooLarge):
					b.Fatalf("%s under %d MiB: %v", probe[k].page.name, capMB, err)
				}
				i.Close()
			}
			rt.Close(context.Background())
		}
		ms = append(probe, ms[len(probe):]...)

		rt = newRuntime(b, wasm.RuntimeConfig{InstanceMemoryLimitMB: 64, ExtractTimeout: time.Minute})
		m = loadArticle(b, rt, true)
		grow := func(doc string) float64 {
			i, err := m.NewInstance(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			defer i.Close()
			before := i.MemoryBytes()
			if _, err := i.Extract(context.Background(), wasm.Request{HTML: doc, URL: "https://example.com/", Mode: "article"}); err != nil {
				b.Fatalf("a document of %d bytes: %v", len(doc), err)
			}
			return float64(i.MemoryBytes() - before)
		}
		var sb strings.Builder
		for _, p := range pages { // largest first
			if sb.Len()+len(p.html) > m.DocumentLimit() {
				break
			}
			sb.WriteString(p.html)
		}
		limitLen, limitDoc = sb.Len(), grow(sb.String())/(1<<20)
		costly = 0
		for _, unit := range costlyUnits {
			doc := costlyDocument(unit, 64<<10)
			perByte := grow(doc) / float64(len(doc))
			b.Logf("%d bytes of %s repeated: %.1f bytes per byte", len(doc), unit, perByte)
			costly = max(costly, perByte)
		}
		rt.Close(context.Background())
	}
	b.Logf("the largest pages together, %d bytes of a %d-byte limit: grew %.1f MiB", limitLen, 8<<20, limitDoc)
	var maxNeed float64
	for _, m := range ms {
		if m.need == 0 {
			continue
		}
		need := perByte(m.need-fresh, m.page)
		maxNeed = max(maxNeed, need)
		b.Logf("%-32s %8d bytes: grew %4.1f MiB (%4.1f bytes per byte) under 64 MiB; served from a cap of %2d MiB (%4.1f bytes per byte over a fresh instance)",
			m.page.name, len(m.page.html), float64(m.grown)/(1<<20), perByte(m.grown, m.page), m.need>>20, need)
	}
	ratios := make([]float64, len(ms))
	var peak uint64
	for k, m := range ms {
		ratios[k] = perByte(m.grown, m.page)
		peak = max(peak, m.grown)
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)-1], "max-bytes/byte")
	b.ReportMetric(ratios[len(ratios)*9/10], "p90-bytes/byte")
	b.ReportMetric(median(ratios), "median-bytes/byte")
	b.ReportMetric(maxNeed, "need-bytes/byte")
	b.ReportMetric(float64(peak)/(1<<20), "max-growth-MiB")
	b.ReportMetric(limitDoc, "limit-doc-growth-MiB")
	b.ReportMetric(costly, "costly-bytes/byte")
	b.ReportMetric(float64(fresh)/(1<<20), "fresh-MiB")
	b.ReportMetric(float64(len(ms)), "pages")
}

// costlyUnits are the elements whose repetition makes the costliest
// documents per byte known for the article module: each makes a node of a
// few bytes, which the guest's parsed tree and extraction take some 100
// times over.
var costlyUnits = []string{"<p>", "<li>x", "x<br>", "<a>"}

// costlyDocument is an HTML document of n bytes: unit repeated in a body.
func costlyDocument(unit string, n int) string {
	const open, end = "<html><body>", "</body></html>"
	body := n - len(open) - len(end)
	return open + strings.Repeat(unit, body/len(unit)) + strings.Repeat(" ", body%len(unit)) + end
}

// needCaps are the instance caps, in MiB, under which
// BenchmarkArticleMemoryPerByte looks for the smallest that serves a page.
var needCaps = []int{10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64}

// TestDocumentBounds checks both document bounds of a module at the byte:
// a document of Module.DocumentLimit bytes is served and one more byte is
// refused before the guest sees it; a guest that runs out of memory (bomb,
// which always does) on a document of Module.BlameDocumentBytes is the
// document's fault, and on one byte less the module's.
func TestDocumentBounds(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{InstanceMemoryLimitMB: 4, ExtractTimeout: 10 * time.Second})
	echo := load(t, rt, "echo", wasm.ModuleOptions{})
	bomb := load(t, rt, "bomb", wasm.ModuleOptions{})
	// Both start with one page of linear memory.
	limit, blame := echo.DocumentLimit(), echo.BlameDocumentBytes()
	if limit != 512<<10 || blame != (4<<20-64<<10)/512 || bomb.BlameDocumentBytes() != blame {
		t.Fatalf("a 4 MiB cap: document limit %d, blame from %d; want an eighth of the cap, a 512th of what a fresh instance leaves", limit, blame)
	}
	// echo answers a document that starts with "{" with the document.
	doc := func(n int) string { return `{"ok":{}}` + strings.Repeat(" ", n-len(`{"ok":{}}`)) }
	tests := []struct {
		name   string
		module *wasm.Module
		size   int
		want   error // nil: served
		not    error // an error it must not match
	}{
		{"at the document limit", echo, limit, nil, nil},
		{"a byte over the document limit", echo, limit + 1, wasm.ErrRequestTooLarge, nil},
		{"out of memory a byte under the blame size", bomb, blame - 1, wasm.ErrOutOfMemory, wasm.ErrDocumentOutOfMemory},
		{"out of memory at the blame size", bomb, blame, wasm.ErrDocumentOutOfMemory, wasm.ErrOutOfMemory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := newInstance(t, tt.module)
			_, err := i.Extract(context.Background(), wasm.Request{HTML: doc(tt.size)})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) || tt.not != nil && errors.Is(err, tt.not) {
				t.Errorf("a document of %d bytes: %v, want %v", tt.size, err, tt.want)
			}
		})
	}
}

// TestArticleCostlyDocument sends the bundled article module the costliest
// documents known per byte (costlyUnits repeated: up to some 300 bytes of
// linear memory per byte, see BenchmarkArticleMemoryPerByte) under a
// 16 MiB cap, where a fresh instance leaves 10 MiB: one byte under the blame
// size (20 KiB) each is served, and at four times that it runs the guest
// out of memory and is the document's fault, which no breaker counts. Under
// the former blame size, a sixteenth of the cap (1 MiB here), the second
// was the module's failure: a caller could open the article module's
// breaker for everyone with a few such documents.
func TestArticleCostlyDocument(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{InstanceMemoryLimitMB: 16, ExtractTimeout: time.Minute})
	m := loadArticle(t, rt, true)
	blame := m.BlameDocumentBytes()
	tests := []struct {
		size int
		want error // nil: served
	}{
		{blame - 1, nil},
		{4 * blame, wasm.ErrDocumentOutOfMemory},
	}
	for _, unit := range costlyUnits {
		for _, tt := range tests {
			i := newInstance(t, m)
			doc := costlyDocument(unit, tt.size)
			before := i.MemoryBytes()
			_, err := i.Extract(context.Background(), wasm.Request{HTML: doc, URL: "https://example.com/", Mode: "article"})
			t.Logf("%d bytes of %s: grew %.1f MiB: %.100v", len(doc), unit, float64(i.MemoryBytes()-before)/(1<<20), err)
			if len(doc) != tt.size || tt.want == nil && err != nil || tt.want != nil && (!errors.Is(err, tt.want) || errors.Is(err, wasm.ErrOutOfMemory)) {
				t.Errorf("%d bytes of %s under a 16 MiB cap: %v, want %v", len(doc), unit, err, tt.want)
			}
		}
	}
}
