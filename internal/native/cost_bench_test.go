//go:build unix

package native

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/cascadia"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"golang.org/x/net/html"
)

// BenchmarkCorpusCPU asks BenchmarkCorpus's questions (title, a@href, p;
// answered from the token stream where the page allows) and questions the
// cost model must measure the document for (a combinator, :has, :nth-*)
// of the median corpus page: impl=native is NewDocument + CSS.Select,
// impl=baseline html.Parse + cascadia. Besides wall time it reports
// cpu-ns/op, the process's CPU time per call, which does not grow while
// the benchmark waits for a core that other processes hold: on a shared
// machine its ratios are the figures to compare. Compare with:
// benchstat -col /impl.
func BenchmarkCorpusCPU(b *testing.B) {
	pages := testenv.CorpusPages(b)
	p := pages[len(pages)/2]
	for _, sel := range []string{"title", "a[href]@href", "p", "div p", "ul li a", "article:has(h1)", "li:nth-child(2n+1)"} {
		spec := CSSSpec{Selector: sel, All: sel != "title"}
		if s, attr, ok := strings.Cut(sel, "@"); ok {
			spec.Selector, spec.Attribute = s, attr
		}
		b.Run("sel="+sel+"/impl=baseline", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				root, err := html.Parse(strings.NewReader(p.Source))
				if err != nil {
					b.Fatal(err)
				}
				baselineValues(root, cascadia.MustCompile(spec.Selector), spec)
			}
		})
		b.Run("sel="+sel+"/impl=native", func(b *testing.B) {
			css := NewCSS(NewSelectorCache(0), Limits{})
			ctx := context.Background()
			defer reportCPU(b)()
			for b.Loop() {
				doc, err := NewDocument(p.Source, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := css.Select(ctx, doc, spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU starts counting the process's CPU time; the function it
// returns reports it per iteration as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64((processCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
