package articlepool

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

// heldBytes runs f with the collector running often and reports about the
// most heap f held at once: the heap's high-water mark over f, sampled,
// less what was live before. With GOGC=10 the heap never runs more than a
// tenth over what is live, so the figure is within about 10% of the truth
// (a little under when a short peak falls between two samples).
func heldBytes(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var high atomic.Uint64
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > high.Load() {
				high.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Microsecond):
			}
		}
	}()
	f()
	close(stop)
	<-stopped
	return max(high.Load(), base) - base
}

// TestMemoryPerByte checks BytesPerDocumentByte, the figure the document cap
// and the bound on concurrent calls rest on: the heap one extraction holds
// per byte of its document, on documents made to be costly (the most
// elements per byte: the worst shapes found) and on the corpus's larger
// pages.
func TestMemoryPerByte(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory; slow under -short")
	}
	const size = 128 << 10
	// Documents are made or read one at a time: the collector's slack is a
	// share of all that is live, which other documents would swell.
	type doc struct {
		name string
		html func() string
	}
	made := func(name, s string, n int) doc {
		return doc{name, func() string { return strings.Repeat(s, n) }}
	}
	docs := []doc{
		made("li", "<li>x", size/5),
		made("p", "<p>", size/3),
		made("a", "<a>", size/3),
		made("td", "<tr><td>a", size/9),
		made("img", "<img src=a>", size/11),
		made("links", "<a href=x>y</a>", size/15),
	}
	if dir := corpusDir(); dir != "" && !raceEnabled {
		// (Under the race detector the pages take minutes: the made
		// documents, the worst, are measured all the same.)
		// The larger pages only (a sixth of them): on small ones the
		// per-byte figure is dominated by a fixed cost that the cap
		// leaves room for.
		paths, _ := filepath.Glob(filepath.Join(dir, "trafilatura-eval", "pages", "*.html"))
		more, _ := filepath.Glob(filepath.Join(dir, "readability", "*", "source.html"))
		n := 0
		for _, path := range slices.Concat(paths, more) {
			if fi, err := os.Stat(path); err != nil || fi.Size() < 200<<10 {
				continue
			}
			if n++; n%6 != 0 {
				continue
			}
			docs = append(docs, doc{filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path), func() string {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				d, err := native.DecodeDocument(b, "", native.DefaultLimits())
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				return d.Source()
			}})
		}
	}
	p := &Pool{extract: article.Extract, cfg: Config{MaxDocumentBytes: 1 << 30}}
	for _, d := range docs {
		html := d.html()
		for _, mode := range []string{article.ModeArticle, article.ModeFull} {
			held := heldBytes(func() {
				if _, err := p.run(Request{HTML: html, Mode: mode}); err != nil {
					t.Errorf("%s: %v", d.name, err)
				}
			})
			perByte := float64(held) / float64(len(html))
			t.Logf("%-28s %-7s %8d bytes: %5.1f bytes held per byte", d.name, mode, len(html), perByte)
			if perByte > BytesPerDocumentByte {
				t.Errorf("%s, mode %s: %.1f bytes held per document byte, over BytesPerDocumentByte = %d",
					d.name, mode, perByte, BytesPerDocumentByte)
			}
		}
	}
}

// corpusDir is the shared corpus (both sets), or "" when absent.
func corpusDir() string {
	dir := os.Getenv(testenv.CorpusEnv)
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus", "readability")
	}
	dir = filepath.Dir(dir)
	if _, err := os.Stat(filepath.Join(dir, "trafilatura-eval")); err != nil {
		return ""
	}
	return dir
}
