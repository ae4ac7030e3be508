// Package articlepool runs the bundled article extractor (package
// internal/article) natively, in the daemon's own process: the engine an
// operator chooses with ARTICLE_ENGINE=native, trading the sandbox's
// isolation for speed.
//
// A native call cannot be given a memory cap or be interrupted the way a
// WebAssembly instance can, so the pool keeps the sandbox's budgets by other
// means:
//
//   - memory: a document may be at most MaxDocumentBytes, and at most
//     MaxCalls(MemoryLimitBytes, MaxDocumentBytes) calls run at once, so
//     that their worst case, BytesPerDocumentByte for each byte of their
//     documents, fits the memory limit;
//   - time: a call that overruns its deadline is abandoned: its caller is
//     answered ErrTimeout at once, while the extraction goes on in the
//     background holding its extractor (and so its share of the bound)
//     until it really ends, when the extractor is discarded;
//   - faults: a panic in the extraction fails that call alone, with
//     ErrPanic, and its extractor is discarded.
//
// Each extractor is one of those call slots: the pool's min and max are the
// bound, and an extractor is only a token (the extraction keeps no state).
package articlepool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
)

// BytesPerDocumentByte bounds the heap one native article call holds at
// once per byte of its document. The most measured is 97, on documents made
// to be costly (the most elements per byte: `<li>x`, `<p>`, `<a>`,
// `<tr><td>a` repeated), and 24 on the larger pages of the shared corpus (5
// on its largest); 128 leaves room for the measurement's noise and for
// shapes not tried. TestMemoryPerByte checks it.
const BytesPerDocumentByte = 128

// Errors of Run. Errors of the caller's request are article.ErrUnknownMode,
// article.ErrInvalidSelector and article.ErrEmptyDocument, wrapped.
var (
	// ErrDocumentTooLarge reports a document over MaxDocumentBytes.
	ErrDocumentTooLarge = errors.New("articlepool: document too large")
	// ErrResultTooLarge reports a result over MaxResultBytes.
	ErrResultTooLarge = errors.New("articlepool: result too large")
	// ErrTimeout reports a call abandoned at the pool's time limit.
	ErrTimeout = errors.New("articlepool: extraction ran out of time")
	// ErrPanic reports an extraction that panicked.
	ErrPanic = errors.New("articlepool: extraction panicked")
	// ErrFailed reports an extraction that returned an error that is not
	// the caller's, such as a document nested too deeply to parse.
	ErrFailed = errors.New("articlepool: extraction failed")
)

// ExtractFunc is an extraction: article.Extract, or a stand-in in tests.
type ExtractFunc func(page string, req article.Request) (*article.Result, error)

// Config configures a Pool.
type Config struct {
	// Name is the pool's name: "article", the bundled module's.
	Name string
	// MaxDocumentBytes bounds the document of one call.
	MaxDocumentBytes int
	// MemoryLimitBytes is the memory all calls together may hold. With
	// MaxDocumentBytes it sets the number of calls that run at once: see
	// MaxCalls.
	MemoryLimitBytes uint64
	// Timeout bounds one call (the caller's deadline may be earlier).
	Timeout time.Duration
	// MaxResultBytes bounds a result's JSON; 0: no bound.
	MaxResultBytes int
	// MaxSelectors and MaxSelectorLen bound the selectors of mode custom.
	MaxSelectors, MaxSelectorLen int

	// Pool upkeep.
	CheckoutTimeout    time.Duration
	HealthInterval     time.Duration
	ValidateOnCheckout bool

	// Breaker settings.
	FailureThreshold, SuccessThreshold int
	OpenTimeout                        time.Duration

	// OnEvent receives the pool's events and OnBreaker its breaker's state
	// changes; neither may block.
	OnEvent   func(pool.Event)
	OnBreaker func(name string, from, to breaker.State)
	Logger    *slog.Logger

	// Extract is the extraction; nil means article.Extract.
	Extract ExtractFunc
}

// MaxCalls is the number of calls that may run at once so that their worst
// case, BytesPerDocumentByte per byte of a document of maxDocumentBytes,
// fits memoryLimitBytes; at least 1.
func MaxCalls(memoryLimitBytes uint64, maxDocumentBytes int) int {
	per := uint64(max(maxDocumentBytes, 1)) * BytesPerDocumentByte
	return int(max(memoryLimitBytes/per, 1))
}

// Pool is the native article pool. It is safe for concurrent use.
type Pool struct {
	Name    string
	Pool    *pool.Pool[*Extractor]
	Breaker *breaker.Breaker

	cfg     Config
	log     *slog.Logger
	extract ExtractFunc

	abandoned atomic.Uint64 // calls abandoned at their deadline, ever
	running   atomic.Int64  // of those, the ones still running
	panics    atomic.Uint64
}

// Extractor is one call slot of the pool.
type Extractor struct {
	// busy holds a token while an extraction runs on the extractor, even
	// one its caller abandoned: the next call waits for it.
	busy chan struct{}
	// bad is set once an extraction on it panicked or was abandoned: it
	// is discarded when it comes back.
	bad atomic.Bool
}

// IsHealthy reports whether no abandoned extraction is still running on e.
func (e *Extractor) IsHealthy(context.Context) bool { return len(e.busy) == 0 && !e.bad.Load() }

// Reset does nothing: an extraction keeps no state.
func (e *Extractor) Reset(context.Context) error { return nil }

// Close does nothing: an extractor holds no resources.
func (e *Extractor) Close() error { return nil }

// New returns the pool, filling it to its bound in the background.
func New(ctx context.Context, cfg Config) (*Pool, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("articlepool: a name is required")
	case cfg.MaxDocumentBytes < 1:
		return nil, fmt.Errorf("articlepool %q: MaxDocumentBytes %d must be positive", cfg.Name, cfg.MaxDocumentBytes)
	case cfg.Timeout <= 0:
		return nil, fmt.Errorf("articlepool %q: Timeout %v must be positive", cfg.Name, cfg.Timeout)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("pool", cfg.Name, "engine", "native")
	p := &Pool{Name: cfg.Name, cfg: cfg, log: log, extract: cfg.Extract}
	if p.extract == nil {
		p.extract = article.Extract
	}
	p.Breaker = breaker.New(breaker.Config{
		Name:             cfg.Name,
		FailureThreshold: cfg.FailureThreshold,
		SuccessThreshold: cfg.SuccessThreshold,
		OpenTimeout:      cfg.OpenTimeout,
		IsFailure:        isFailure,
		OnStateChange:    cfg.OnBreaker,
	})
	n := MaxCalls(cfg.MemoryLimitBytes, cfg.MaxDocumentBytes)
	var err error
	p.Pool, err = pool.New(ctx, pool.Config{
		Name:               cfg.Name,
		MinSize:            n,
		MaxSize:            n,
		CheckoutTimeout:    cfg.CheckoutTimeout,
		ValidateOnCheckout: cfg.ValidateOnCheckout,
		HealthInterval:     cfg.HealthInterval,
		OnEvent:            cfg.OnEvent,
		Logger:             log,
	}, func(context.Context) (*Extractor, error) {
		return &Extractor{busy: make(chan struct{}, 1)}, nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// isFailure tells the breaker which errors are the extractor's fault: a
// panic, and running out of the pool's own time. The caller's errors, its
// own deadline and cancellation are not.
func isFailure(err error) bool {
	return errors.Is(err, ErrPanic) || errors.Is(err, ErrTimeout)
}

// Stats are the pool's counters beyond the generic pool's.
type Stats struct {
	// Abandoned counts the calls abandoned at their deadline; Running
	// those of them still running, each holding a call slot.
	Abandoned uint64
	Running   int64
	// Panics counts the extractions that panicked.
	Panics uint64
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	return Stats{Abandoned: p.abandoned.Load(), Running: p.running.Load(), Panics: p.panics.Load()}
}

// Limits are the bounds the pool applies, for ListExtractors.
type Limits struct {
	MaxDocumentBytes int
	MaxCalls         int
	Timeout          time.Duration
}

// Limits returns the pool's bounds.
func (p *Pool) Limits() Limits {
	return Limits{
		MaxDocumentBytes: p.cfg.MaxDocumentBytes,
		MaxCalls:         MaxCalls(p.cfg.MemoryLimitBytes, p.cfg.MaxDocumentBytes),
		Timeout:          p.cfg.Timeout,
	}
}

// Checkout takes an extractor for one caller. A call already refused by an
// open breaker is refused before it waits.
func (p *Pool) Checkout(ctx context.Context) (*pool.Handle[*Extractor], error) {
	if p.Breaker.State() == breaker.StateOpen {
		return nil, &breaker.OpenError{Name: p.Name, State: breaker.StateOpen, RetryAfter: p.Breaker.RetryAfter()}
	}
	return p.Pool.Checkout(ctx)
}

// Request is one extraction.
type Request struct {
	HTML      string // UTF-8
	URL       string
	Mode      string
	Selectors []string
}

// Run runs one extraction on a checked-out extractor and returns the
// result's JSON, as the bundled module's guest would. It returns when the
// extraction ends or when ctx, capped by the pool's Timeout, does: then the
// extraction is abandoned and goes on in the background until it ends,
// keeping the extractor busy. Done returns the extractor either way.
func (p *Pool) Run(ctx context.Context, h *pool.Handle[*Extractor], req Request) ([]byte, error) {
	if err := p.check(req); err != nil {
		return nil, err
	}
	e := h.Value()
	// The call's time runs from here: a wait for an abandoned extraction
	// on a leased extractor counts against it.
	callCtx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	select {
	case e.busy <- struct{}{}:
	case <-callCtx.Done():
		return nil, p.timeoutError(ctx, "waiting for the extractor's abandoned call")
	}
	done, err := p.Breaker.Allow()
	if err != nil {
		<-e.busy
		return nil, err
	}
	// state settles the race between the extraction ending and its caller
	// giving up: whichever moves it from running first decides.
	const (
		running int32 = iota
		finished
		abandoned
	)
	var state atomic.Int32
	type outcome struct {
		json []byte
		err  error
	}
	out := make(chan outcome, 1) // the extraction never blocks on it
	go func() {
		b, err := p.run(req)
		<-e.busy
		out <- outcome{b, err}
		if !state.CompareAndSwap(running, finished) {
			p.running.Add(-1)
			p.log.Info("abandoned extraction ended", "bytes", len(req.HTML), "mode", req.Mode, "err", err)
		}
	}()
	var o outcome
	select {
	case o = <-out:
	case <-callCtx.Done():
		if state.CompareAndSwap(running, abandoned) {
			p.abandoned.Add(1)
			p.running.Add(1)
			e.bad.Store(true)
			err = p.timeoutError(ctx, "the extraction")
			done(err)
			p.log.Warn("extraction abandoned at its deadline; it runs on, holding its call slot",
				"bytes", len(req.HTML), "mode", req.Mode, "err", err)
			return nil, err
		}
		o = <-out // sent before state left running
	}
	if errors.Is(o.err, ErrPanic) {
		e.bad.Store(true)
	}
	done(o.err)
	return o.json, o.err
}

// timeoutError is the error of a call whose time ran out: the caller's own
// context error if it ended first, else ErrTimeout.
func (p *Pool) timeoutError(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("articlepool %q: %s: %w", p.Name, what, err)
	}
	return fmt.Errorf("%w: %s took over %v", ErrTimeout, what, p.cfg.Timeout)
}

// Done ends a checkout. An extractor whose extraction was abandoned goes
// back to the pool only when that extraction ends, and is then discarded,
// as is one whose extraction panicked: the pool replaces it.
func (p *Pool) Done(h *pool.Handle[*Extractor]) {
	e := h.Value()
	if !e.bad.Load() {
		h.Release()
		return
	}
	select {
	case e.busy <- struct{}{}: // nothing runs on it
		h.Discard("extraction panicked or abandoned")
	default:
		go func() {
			e.busy <- struct{}{} // the abandoned extraction has ended
			h.Discard("abandoned extraction ended")
		}()
	}
}

// check reports a request the pool refuses before any work.
func (p *Pool) check(req Request) error {
	if len(req.HTML) > p.cfg.MaxDocumentBytes {
		return fmt.Errorf("%w: %d bytes, the native article engine takes at most %d (ARTICLE_NATIVE_DOCUMENT_BYTES)",
			ErrDocumentTooLarge, len(req.HTML), p.cfg.MaxDocumentBytes)
	}
	if req.Mode != article.ModeCustom {
		return nil
	}
	if n := p.cfg.MaxSelectors; n > 0 && len(req.Selectors) > n {
		return fmt.Errorf("%w: %d selectors, at most %d are allowed", article.ErrInvalidSelector, len(req.Selectors), n)
	}
	for _, s := range req.Selectors {
		if n := p.cfg.MaxSelectorLen; n > 0 && len(s) > n {
			return fmt.Errorf("%w: a selector of %d bytes, at most %d are allowed", article.ErrInvalidSelector, len(s), n)
		}
	}
	return nil
}

// run extracts and encodes the result, turning a panic into ErrPanic.
func (p *Pool) run(req Request) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			p.panics.Add(1)
			p.log.Error("extraction panicked", "panic", r, "bytes", len(req.HTML), "mode", req.Mode)
			b, err = nil, fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	res, err := p.extract(req.HTML, article.Request{URL: req.URL, Mode: req.Mode, Selectors: req.Selectors})
	if err != nil {
		if CallerError(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrFailed, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as the guest encodes it
	if err := enc.Encode(res); err != nil {
		return nil, fmt.Errorf("%w: encoding the result: %v", ErrFailed, err)
	}
	b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if n := p.cfg.MaxResultBytes; n > 0 && len(b) > n {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrResultTooLarge, len(b), n)
	}
	return b, nil
}

// CallerError reports whether err is the caller's fault: a bad mode or
// selector, or an empty document.
func CallerError(err error) bool {
	return errors.Is(err, article.ErrUnknownMode) || errors.Is(err, article.ErrInvalidSelector) ||
		errors.Is(err, article.ErrEmptyDocument)
}
