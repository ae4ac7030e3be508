package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/articlepool"
	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/lease"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"google.golang.org/grpc/codes"
)

// The bundled article module runs natively when the daemon was given an
// articlepool (ARTICLE_ENGINE=native): under the module's name, with the
// module's modes and answers, so that clients change nothing.

// nativeArticle reports whether requests to module name run natively.
func (s *Service) nativeArticle(name string) bool {
	return s.article != nil && (name == "" || name == DefaultModule)
}

// articleHeld is what a lease of the native article pool holds.
type articleHeld struct {
	p *articlepool.Pool
	h *pool.Handle[*articlepool.Extractor]
}

func (a articleHeld) Release()         { a.p.Done(a.h) }
func (a articleHeld) Discard(_ string) { a.p.Done(a.h) } // Done discards an extractor that misbehaved; the others hold nothing to lose

// checkoutArticle leases an extractor of the native article pool.
func (s *Service) checkoutArticle(ctx context.Context) (lease.Held, string, error) {
	h, err := s.article.Checkout(ctx)
	if err != nil {
		return nil, "", s.articleError(err)
	}
	return articleHeld{s.article, h}, instanceID(DefaultModule, h.ID()), nil
}

// extractArticle answers a WasmSpec of the bundled module natively.
func (s *Service) extractArticle(ctx context.Context, req *poolv1.ExtractRequest, in *poolv1.WasmSpec) (*poolv1.ExtractResponse, error) {
	p := s.article
	if len(in.GetSelectors()) > MaxSelectors {
		return nil, invalidArgument("wasm.selectors", "%d selectors, at most %d are allowed", len(in.GetSelectors()), MaxSelectors)
	}
	if mode := in.GetMode(); mode != "" && !slices.Contains(article.Modes(), mode) {
		return nil, invalidArgument("wasm.mode", "module %q has no mode %q (want one of %s)", DefaultModule, mode, strings.Join(article.Modes(), ", "))
	}
	doc, err := s.document(req)
	if err != nil {
		return nil, err
	}
	// The custom mode's selectors are bounded as the sandbox's are: by the
	// css pool's work limits, before any extraction starts.
	if err := s.checkCustomSelectors(req, doc, DefaultModule, in); err != nil {
		return nil, err
	}
	areq := articlepool.Request{HTML: doc.Source(), URL: req.GetUrl(), Mode: in.GetMode(), Selectors: in.GetSelectors()}
	resp := &poolv1.ExtractResponse{Pool: DefaultModule}
	var (
		res   []byte
		began = time.Now()
		wait  time.Duration
	)
	if id := req.GetLeaseId(); id != "" {
		err = s.onLease(ctx, id, DefaultModule, func(held lease.Held) error {
			a := held.(articleHeld)
			began = time.Now()
			resp.InstanceId = instanceID(DefaultModule, a.h.ID())
			var rerr error
			if res, rerr = p.Run(ctx, a.h, areq); rerr != nil {
				return s.articleError(rerr)
			}
			return nil
		})
	} else {
		var h *pool.Handle[*articlepool.Extractor]
		h, err = p.Checkout(ctx)
		wait = time.Since(began)
		if err != nil {
			return nil, s.articleError(err)
		}
		began = time.Now()
		resp.InstanceId = instanceID(DefaultModule, h.ID())
		res, err = p.Run(ctx, h, areq)
		p.Done(h)
		if err != nil {
			err = s.articleError(err)
		}
	}
	if err != nil {
		return nil, err
	}
	result, err := decodeResult(res)
	if err != nil {
		return nil, statusError(codes.Internal, ReasonExtractorFailed,
			fmt.Sprintf("the native article engine returned a result that is not a JSON object: %v", err), []string{"pool", DefaultModule})
	}
	resp.Result = result
	resp.Timing = timing(wait, time.Since(began))
	return resp, nil
}

// articleError maps an error of the native article pool to the status the
// WebAssembly engine would answer for the same cause.
func (s *Service) articleError(err error) error {
	name := DefaultModule
	md := []string{"pool", name, "engine", "native"}
	var open *breaker.OpenError
	switch {
	case errors.As(err, &open):
		return statusError(codes.Unavailable, ReasonCircuitOpen,
			fmt.Sprintf("module %q is failing and its circuit breaker is %s; retry after %s", name, open.State, open.RetryAfter.Round(time.Millisecond)),
			md, retryAfter(open.RetryAfter))
	case articlepool.CallerError(err):
		return invalidArgument("wasm", "module %q: %v", name, err)
	case errors.Is(err, articlepool.ErrDocumentTooLarge):
		return statusError(codes.ResourceExhausted, ReasonDocumentTooLarge, fmt.Sprintf("module %q: %v", name, err), md)
	case errors.Is(err, articlepool.ErrResultTooLarge):
		return statusError(codes.ResourceExhausted, ReasonResultTooLarge, fmt.Sprintf("module %q: %v", name, err), md)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return contextOr(err, func() error { return err })
	case errors.Is(err, articlepool.ErrTimeout):
		return statusError(codes.DeadlineExceeded, ReasonExtractorTimeout,
			fmt.Sprintf("module %q ran out of time (WASM_EXTRACT_TIMEOUT_MS); the native engine cannot interrupt it: it runs on, holding its call slot, until it ends", name), md)
	case errors.Is(err, articlepool.ErrPanic), errors.Is(err, articlepool.ErrFailed):
		return statusError(codes.Internal, ReasonExtractorFailed, fmt.Sprintf("module %q failed: %v", name, err), md)
	}
	return s.poolError(err, name, s.article.Pool.Stats)
}
