package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/lease"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// DefaultModule is the module a WasmSpec without one runs: the bundled
// article extractor.
const DefaultModule = "article"

// MaxSelectors bounds the selectors of one WasmSpec.
const MaxSelectors = 64

// extractWASM runs a WebAssembly module's extraction. While the module's
// breaker is open, a "custom" request of the bundled article module, which
// is only CSS selectors, is answered natively with fallback set.
func (s *Service) extractWASM(ctx context.Context, req *poolv1.ExtractRequest, in *poolv1.WasmSpec) (*poolv1.ExtractResponse, error) {
	name := in.GetModule()
	if name == "" {
		name = DefaultModule
	}
	if s.nativeArticle(name) {
		return s.extractArticle(ctx, req, in)
	}
	if s.wasm == nil {
		return nil, disabled("WebAssembly extraction", "WASM_POOL_ENABLED")
	}
	p, err := s.wasm.Get(name)
	if err != nil {
		return nil, invalidArgument("wasm.module", "unknown module %q; ListExtractors lists the modules", name)
	}
	if len(in.GetSelectors()) > MaxSelectors {
		return nil, invalidArgument("wasm.selectors", "%d selectors, at most %d are allowed", len(in.GetSelectors()), MaxSelectors)
	}
	if err := checkMode(p, in.GetMode()); err != nil {
		return nil, err
	}
	doc, err := s.document(req)
	if err != nil {
		return nil, err
	}
	if err := s.checkCustomSelectors(req, doc, name, in); err != nil {
		return nil, err
	}
	wreq := wasm.Request{HTML: doc.Source(), URL: req.GetUrl(), Mode: in.GetMode(), Selectors: in.GetSelectors()}

	resp := &poolv1.ExtractResponse{Pool: name}
	var (
		res    *structpb.Struct
		began  = time.Now()
		wait   time.Duration
		runErr error
	)
	if id := req.GetLeaseId(); id != "" {
		err = s.onLease(ctx, id, name, func(held lease.Held) error {
			w := held.(*wasmHeld)
			began = time.Now()
			end := w.p.Pool.Watch(ctx)
			res, w.err = w.p.Run(ctx, w.h, wreq)
			end()
			runErr = w.err
			resp.InstanceId = instanceID(name, w.h.ID())
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		h, cerr := p.Checkout(ctx)
		wait = time.Since(began)
		if cerr != nil {
			runErr = cerr
		} else {
			began = time.Now()
			end := p.Pool.Watch(ctx)
			res, runErr = p.Run(ctx, h, wreq)
			end()
			p.Done(h, runErr)
			resp.InstanceId = instanceID(name, h.ID())
		}
	}
	if runErr != nil {
		if fb, ok := s.fallback(ctx, p, wreq, runErr); ok {
			return fb, nil
		}
		if errors.Is(runErr, wasm.ErrDocumentUnparsable) { // as the native pools answer it
			return nil, invalidArgument(documentField(req), "%v", runErr)
		}
		return nil, s.wasmError(name, runErr, p.Pool.Stats)
	}
	// The module's result was converted, within its bounds, during the
	// call (wasm.Instance.Extract).
	resp.Result = res
	resp.Timing = timing(wait, time.Since(began))
	return resp, nil
}

// wasmPoolLabel names the pool of a module for metrics: "unknown" for a
// name that has no pool, so that clients cannot mint label values.
func (s *Service) wasmPoolLabel(name string) string {
	if name == "" {
		name = DefaultModule
	}
	if s.nativeArticle(name) {
		return name
	}
	if s.wasm == nil {
		return "unknown"
	}
	if _, err := s.wasm.Get(name); err != nil {
		return "unknown"
	}
	return name
}

// fallback answers a request natively when the module's breaker refused it
// and the request is one the native article extractor can answer exactly:
// the bundled module's "custom" mode, which is CSS selectors only.
func (s *Service) fallback(ctx context.Context, p *wasmpool.Pool, req wasm.Request, err error) (*poolv1.ExtractResponse, bool) {
	if !errors.Is(err, breaker.ErrOpen) || p.Name != DefaultModule || req.Mode != article.ModeCustom {
		return nil, false
	}
	began := time.Now()
	res, aerr := article.Extract(req.HTML, article.Request{URL: req.URL, Mode: req.Mode, Selectors: req.Selectors})
	if aerr != nil {
		return nil, false
	}
	b, jerr := json.Marshal(res)
	if jerr != nil {
		return nil, false
	}
	st, derr := decodeResult(b)
	if derr != nil {
		return nil, false
	}
	return &poolv1.ExtractResponse{
		Result:   st,
		Pool:     p.Name,
		Fallback: true,
		Timing:   timing(0, time.Since(began)),
	}, true
}

// decodeResult turns a module's JSON object into a Struct.
func decodeResult(b []byte) (*structpb.Struct, error) {
	st := new(structpb.Struct)
	if err := protojson.Unmarshal(b, st); err != nil {
		return nil, err
	}
	return st, nil
}

// The ErrorInfo metadata of a MEMORY_LIMIT_EXCEEDED refusal that the
// module's own memory share had no room for: what it asked for would have
// taken it past its share. Health counts such a refusal as the pool's own
// fault, not the daemon's (see poolFault).
const (
	metadataShare = "share"
	shareExceeded = "exceeded"
)

// overShare reports whether the refusal e is of memory the module would
// have held past its share of the budget, rather than of room other
// modules hold within theirs.
func overShare(e *wasmpool.MemoryError) bool {
	return e.Share > 0 && e.Held+e.Need > e.Share
}

// wasmError maps an error of a WebAssembly checkout or call.
func (s *Service) wasmError(name string, err error, stats func() pool.Stats) error {
	var (
		guest    *wasm.GuestError
		open     *breaker.OpenError
		abi      *wasm.ABIError
		slots    *wasmpool.SlotsError
		preempt  *wasmpool.PreemptedError
		creation *wasmpool.CreationError
	)
	md := []string{"pool", name}
	switch {
	case errors.As(err, &open):
		return statusError(codes.Unavailable, ReasonCircuitOpen,
			fmt.Sprintf("module %q is failing and its circuit breaker is %s; retry after %s", name, open.State, open.RetryAfter.Round(time.Millisecond)),
			md, retryAfter(open.RetryAfter))
	case errors.As(err, &guest) && guest.InvalidArgument():
		return invalidArgument("wasm", "module %q: %s", name, guest.Message)
	case errors.As(err, &guest):
		return statusError(codes.Internal, ReasonExtractorFailed,
			fmt.Sprintf("module %q failed: %s: %s", name, guest.Code, guest.Message), md)
	case errors.As(err, &slots):
		// Every instance may be idle: what ran out is the call slots the
		// modules share, and the message says who holds them.
		return statusError(codes.ResourceExhausted, ReasonPoolExhausted,
			fmt.Sprintf("pool %q exhausted: %v", name, slots), md, retryAfter(min(max(slots.Waited/10, 10*time.Millisecond), time.Second)))
	case errors.As(err, &preempt):
		return statusError(codes.ResourceExhausted, ReasonPoolExhausted,
			fmt.Sprintf("pool %q exhausted: %v; the instance was replaced", name, preempt), md, retryAfter(time.Second))
	case errors.Is(err, wasmpool.ErrMemoryLimit):
		if mem := (*wasmpool.MemoryError)(nil); errors.As(err, &mem) && overShare(mem) {
			md = append(md, metadataShare, shareExceeded)
		}
		return statusError(codes.ResourceExhausted, ReasonMemoryLimitExceeded,
			fmt.Sprintf("pool %q cannot grow: %v", name, err), md, retryAfter(time.Second))
	case errors.Is(err, wasm.ErrRequestTooLarge):
		return statusError(codes.ResourceExhausted, ReasonDocumentTooLarge,
			fmt.Sprintf("module %q: %v", name, err), md)
	case errors.Is(err, wasm.ErrDocumentOutOfMemory):
		// The document's fault, not the module's: not counted by the
		// breaker, nor in the error rate.
		return statusError(codes.ResourceExhausted, ReasonDocumentTooLarge,
			fmt.Sprintf("module %q ran out of memory on this document, too large for its instances (WASM_INSTANCE_MEMORY_LIMIT_MB); the instance was replaced: %v", name, err), md)
	case errors.Is(err, wasm.ErrResultTooLarge):
		return statusError(codes.ResourceExhausted, ReasonResultTooLarge,
			fmt.Sprintf("module %q: %v", name, err), md)
	case errors.Is(err, context.Canceled):
		return contextOr(err, func() error { return err })
	case errors.As(err, &creation) && !errors.Is(err, breaker.ErrOpen):
		return statusError(codes.Unavailable, ReasonCreationFailed,
			fmt.Sprintf("module %q could not make an instance: %v", name, err), md, retryAfter(time.Second))
	case errors.Is(err, wasm.ErrTimeout):
		return statusError(codes.DeadlineExceeded, ReasonExtractorTimeout,
			fmt.Sprintf("module %q ran out of time (WASM_EXTRACT_TIMEOUT_MS or the request's deadline); the instance was replaced", name), md)
	case errors.Is(err, wasm.ErrTrap), errors.Is(err, wasm.ErrOutOfMemory), errors.Is(err, wasm.ErrUnusable),
		errors.Is(err, wasm.ErrUnhealthy), errors.As(err, &abi):
		return statusError(codes.Internal, ReasonExtractorFailed,
			fmt.Sprintf("module %q failed: %v; the instance was replaced", name, err), md)
	}
	return s.poolError(err, name, stats)
}
