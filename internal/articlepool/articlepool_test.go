package articlepool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
)

const page = `<!doctype html><html lang="en"><head><title>A title</title>
<meta name="author" content="Ann Author"></head><body><article><h1>A title</h1>
<p>` + "The first paragraph of the article has enough words to be the main content of the page, and then some more words. " + `</p>
<p>` + "A second paragraph, with <a href=\"/more\">a link</a> and more text that a reader would want to read in full. " + `</p>
</article><footer>Footer</footer></body></html>`

// newPool returns a pool over cfg's settings, with defaults for a test,
// closed on cleanup.
func newPool(t *testing.T, cfg Config) *Pool {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "article"
	}
	if cfg.MaxDocumentBytes == 0 {
		cfg.MaxDocumentBytes = 1 << 20
	}
	if cfg.MemoryLimitBytes == 0 {
		cfg.MemoryLimitBytes = 2 * BytesPerDocumentByte * uint64(cfg.MaxDocumentBytes)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.CheckoutTimeout == 0 {
		cfg.CheckoutTimeout = time.Minute
	}
	p, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Pool.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// call checks out, runs and returns.
func call(ctx context.Context, p *Pool, req Request) ([]byte, error) {
	h, err := p.Checkout(ctx)
	if err != nil {
		return nil, err
	}
	defer p.Done(h)
	return p.Run(ctx, h, req)
}

// guestJSON is the result's JSON as the bundled module encodes it.
func guestJSON(t *testing.T, res *article.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

func TestRun(t *testing.T) {
	p := newPool(t, Config{MaxSelectors: 3, MaxSelectorLen: 20, MaxResultBytes: 4096})
	tests := []struct {
		name string
		req  Request
		want error // nil: the result of article.Extract
	}{
		{"article", Request{HTML: page, URL: "https://example.com/a"}, nil},
		{"full", Request{HTML: page, Mode: article.ModeFull}, nil},
		{"metadata", Request{HTML: page, Mode: article.ModeMetadata}, nil},
		{"custom", Request{HTML: page, Mode: article.ModeCustom, Selectors: []string{"h1", "p a"}}, nil},
		{"unknown mode", Request{HTML: page, Mode: "summary"}, article.ErrUnknownMode},
		{"empty document", Request{HTML: " \n"}, article.ErrEmptyDocument},
		{"bad selector", Request{HTML: page, Mode: article.ModeCustom, Selectors: []string{"p["}}, article.ErrInvalidSelector},
		{"no selector", Request{HTML: page, Mode: article.ModeCustom}, article.ErrInvalidSelector},
		{"too many selectors", Request{HTML: page, Mode: article.ModeCustom, Selectors: []string{"a", "b", "c", "d"}}, article.ErrInvalidSelector},
		{"selector too long", Request{HTML: page, Mode: article.ModeCustom, Selectors: []string{strings.Repeat("p ", 11)}}, article.ErrInvalidSelector},
		{"document too large", Request{HTML: strings.Repeat("x", 1<<20+1)}, ErrDocumentTooLarge},
		{"result too large", Request{HTML: "<p>" + strings.Repeat("word ", 2000)}, ErrResultTooLarge},
		{"nested too deep to parse", Request{HTML: strings.Repeat("<div>", 600)}, ErrFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := call(context.Background(), p, tt.req)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Run = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := article.Extract(tt.req.HTML, article.Request{URL: tt.req.URL, Mode: tt.req.Mode, Selectors: tt.req.Selectors})
			if err != nil {
				t.Fatal(err)
			}
			if want := guestJSON(t, res); !bytes.Equal(got, want) {
				t.Errorf("Run =\n%s\nwant\n%s", got, want)
			}
		})
	}
	if st := p.Stats(); st != (Stats{}) {
		t.Errorf("Stats = %+v after calls that neither panicked nor ran out of time", st)
	}
}

func TestMaxCalls(t *testing.T) {
	tests := []struct {
		memory uint64
		doc    int
		want   int
	}{
		{512 << 20, 2 << 20, 2},
		{1 << 30, 2 << 20, 4},
		{200 << 20, 1 << 20, 1},
		{1, 1 << 20, 1}, // at least one
		{1 << 30, 0, 1 << 30 / BytesPerDocumentByte},
	}
	for _, tt := range tests {
		if got := MaxCalls(tt.memory, tt.doc); got != tt.want {
			t.Errorf("MaxCalls(%d, %d) = %d, want %d", tt.memory, tt.doc, got, tt.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	for _, cfg := range []Config{
		{MaxDocumentBytes: 1, Timeout: time.Second},
		{Name: "article", Timeout: time.Second},
		{Name: "article", MaxDocumentBytes: 1},
	} {
		if _, err := New(context.Background(), cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

// TestPanic: a panic fails its call alone, its extractor is replaced, and
// panics open the breaker.
func TestPanic(t *testing.T) {
	var mu sync.Mutex
	panicking := true
	p := newPool(t, Config{FailureThreshold: 2, OpenTimeout: time.Hour, Extract: func(s string, req article.Request) (*article.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if panicking && s == "boom" {
			panic("a bug")
		}
		return article.Extract(s, req)
	}})
	if _, err := call(context.Background(), p, Request{HTML: "boom"}); !errors.Is(err, ErrPanic) {
		t.Fatalf("Run = %v, want ErrPanic", err)
	}
	if _, err := call(context.Background(), p, Request{HTML: page}); err != nil {
		t.Fatalf("a call after a panic: %v", err)
	}
	if st := p.Stats(); st.Panics != 1 {
		t.Errorf("Stats().Panics = %d, want 1", st.Panics)
	}
	if n := p.Pool.Stats().Destroyed[pool.ReasonDiscarded]; n != 1 {
		t.Errorf("discarded extractors = %d, want 1", n)
	}
	call(context.Background(), p, Request{HTML: "boom"})
	call(context.Background(), p, Request{HTML: "boom"})
	if _, err := p.Checkout(context.Background()); !errors.Is(err, breaker.ErrOpen) {
		t.Errorf("Checkout after panics = %v, want the breaker open", err)
	}
}

// blocker is an extraction that runs until released.
type blocker struct {
	started chan struct{}
	release chan struct{}
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (b *blocker) extract(s string, req article.Request) (*article.Result, error) {
	b.started <- struct{}{}
	<-b.release
	return article.Extract(s, req)
}

// eventually waits, within a generous bound, for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s", what)
		}
	}
}

// TestAbandoned: a call past the pool's time limit answers ErrTimeout at
// once, while its extraction keeps its call slot until it really ends.
func TestAbandoned(t *testing.T) {
	b := newBlocker()
	// One call slot; a short time limit and checkout wait.
	p := newPool(t, Config{MemoryLimitBytes: 1, Timeout: 20 * time.Millisecond, CheckoutTimeout: 20 * time.Millisecond,
		FailureThreshold: 100, Extract: b.extract})
	if max := p.Pool.Stats().Max; max != 1 {
		t.Fatalf("max = %d, want 1", max)
	}
	_, err := call(context.Background(), p, Request{HTML: page})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run = %v, want ErrTimeout", err)
	}
	if st := p.Stats(); st.Abandoned != 1 || st.Running != 1 {
		t.Errorf("Stats = %+v, want 1 abandoned, 1 running", st)
	}
	// The abandoned extraction still holds the only slot.
	if _, err := p.Checkout(context.Background()); !errors.Is(err, pool.ErrExhausted) {
		t.Fatalf("Checkout while the abandoned call runs = %v, want ErrExhausted", err)
	}
	if st := p.Pool.Stats(); st.InUse != 1 {
		t.Errorf("in use = %d, want 1", st.InUse)
	}
	close(b.release)
	eventually(t, "back to 0 running", func() bool { return p.Stats().Running == 0 })
	eventually(t, "replaced", func() bool { return p.Pool.Stats().Destroyed[pool.ReasonDiscarded] == 1 })
	h, err := p.Checkout(context.Background())
	if err != nil {
		t.Fatalf("Checkout once the abandoned call ended: %v", err)
	}
	p.Done(h)
}

// TestCallerDeadline: the caller's own deadline is its error, not the
// extractor's fault: the breaker does not count it.
func TestCallerDeadline(t *testing.T) {
	b := newBlocker()
	p := newPool(t, Config{FailureThreshold: 1, OpenTimeout: time.Hour, Extract: b.extract})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-b.started
		cancel()
	}()
	_, err := call(ctx, p, Request{HTML: page})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	close(b.release)
	if got := p.Breaker.State(); got != breaker.StateClosed {
		t.Errorf("breaker %v after the caller gave up, want closed", got)
	}
}

// TestLeasedAbandoned: a second call on an extractor whose abandoned
// extraction still runs waits for it, within its own time limit, so that
// a lease cannot run two extractions at once.
func TestLeasedAbandoned(t *testing.T) {
	b := newBlocker()
	p := newPool(t, Config{Timeout: 20 * time.Millisecond, FailureThreshold: 100, Extract: b.extract})
	h, err := p.Checkout(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background(), h, Request{HTML: page}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("first Run = %v, want ErrTimeout", err)
	}
	if _, err := p.Run(context.Background(), h, Request{HTML: page}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second Run = %v, want ErrTimeout", err)
	}
	if n := len(b.started); n != 1 {
		t.Errorf("%d extractions started on one extractor, want 1", n)
	}
	close(b.release)
	p.Done(h)
	eventually(t, "returned", func() bool { return p.Pool.Stats().InUse == 0 })
}

// TestConcurrentBound: however many callers, at most MaxCalls extractions
// run at once.
func TestConcurrentBound(t *testing.T) {
	var (
		mu          sync.Mutex
		now, most   int
		maxDocument = 1 << 20
	)
	p := newPool(t, Config{MaxDocumentBytes: maxDocument, MemoryLimitBytes: 3 * BytesPerDocumentByte * uint64(maxDocument),
		Extract: func(s string, req article.Request) (*article.Result, error) {
			mu.Lock()
			now++
			most = max(most, now)
			mu.Unlock()
			defer func() { mu.Lock(); now--; mu.Unlock() }()
			return article.Extract(s, req)
		}})
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := call(context.Background(), p, Request{HTML: page}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if most > 3 {
		t.Errorf("%d extractions ran at once, want at most 3", most)
	}
}
