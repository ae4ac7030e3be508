package articlepool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/article"
)

// FuzzRun: whatever the document, mode and selector, Run answers a result
// or one of its documented errors, never panics past its recover, and gives
// its extractor back.
func FuzzRun(f *testing.F) {
	f.Add(page, "", "")
	f.Add(page, article.ModeCustom, "h1, p > a")
	f.Add("<table><tr><td>a<p>b", article.ModeFull, "")
	f.Add("<svg><foreignObject><p>x", article.ModeMetadata, "")
	f.Add(" ", article.ModeCustom, "p[")
	f.Add("<p>x", "summary", "")
	p, err := New(context.Background(), Config{Name: "article", MaxDocumentBytes: 1 << 16,
		MemoryLimitBytes: 1 << 30, Timeout: time.Minute, MaxSelectors: 4, MaxSelectorLen: 256, MaxResultBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Pool.Close(context.Background()) })
	f.Fuzz(func(t *testing.T, html, mode, selector string) {
		req := Request{HTML: html, Mode: mode}
		if selector != "" {
			req.Selectors = []string{selector}
		}
		_, err := call(context.Background(), p, req)
		switch {
		case err == nil, CallerError(err), errors.Is(err, ErrDocumentTooLarge), errors.Is(err, ErrResultTooLarge),
			errors.Is(err, ErrFailed):
		case errors.Is(err, ErrPanic):
			t.Fatalf("the extraction panicked on %q, mode %q, selector %q: %v", html, mode, selector, err)
		default:
			t.Fatalf("Run = %v, not a documented error", err)
		}
		if st := p.Pool.Stats(); st.InUse != 0 {
			t.Fatalf("%d extractors still in use after the call", st.InUse)
		}
	})
}
