package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/lease"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Extract answers one extraction request.
func (s *Service) Extract(ctx context.Context, req *poolv1.ExtractRequest) (*poolv1.ExtractResponse, error) {
	start := time.Now()
	var (
		resp           *poolv1.ExtractResponse
		err            error
		poolName, kind string
	)
	switch spec := req.GetSpec().(type) {
	case *poolv1.ExtractRequest_Css:
		poolName, kind = PoolCSS, "css"
		resp, err = s.extractCSS(ctx, req, spec.Css)
	case *poolv1.ExtractRequest_Regex:
		poolName, kind = PoolRegex, "regex"
		resp, err = s.extractRegex(ctx, req, spec.Regex)
	case *poolv1.ExtractRequest_Fields:
		poolName, kind = PoolCSS, "fields"
		resp, err = s.extractFields(ctx, req, spec.Fields)
		if resp != nil {
			poolName = resp.Pool
		}
	case *poolv1.ExtractRequest_Xpath:
		poolName, kind = PoolCSS, "xpath"
		resp, err = s.extractXPath(ctx, req, spec.Xpath)
	case *poolv1.ExtractRequest_Structured:
		poolName, kind = PoolCSS, "structured"
		resp, err = s.extractStructured(ctx, req, spec.Structured)
	case *poolv1.ExtractRequest_Wasm:
		poolName, kind = s.wasmPoolLabel(spec.Wasm.GetModule()), "wasm"
		resp, err = s.extractWASM(ctx, req, spec.Wasm)
	default:
		return nil, invalidArgument("spec", "one of css, xpath, regex, fields, structured or wasm is required")
	}
	elapsed := time.Since(start)
	result := outcome(err)
	s.observe.Observe(poolName, kind, result, elapsed)
	s.errors.record(poolName, result, poolFault(result, err))
	if err != nil {
		return nil, err
	}
	resp.Timing.Total = durationpb.New(elapsed)
	return resp, nil
}

// document validates and wraps the request's document. It does not parse:
// a Document parses on first use, and a regex over raw HTML never does.
func (s *Service) document(req *poolv1.ExtractRequest) (*native.Document, error) {
	var (
		doc *native.Document
		err error
	)
	field := "html"
	switch d := req.GetDocument().(type) {
	case *poolv1.ExtractRequest_Html:
		// A proto3 string must be UTF-8. The daemon's codec (grpcwire)
		// leaves the check to here so that the answer is INVALID_ARGUMENT
		// naming the field, not gRPC's INTERNAL decoding error.
		if !utf8.ValidString(d.Html) {
			return nil, invalidArgument("html", "not valid UTF-8; send a document in another encoding as raw_html, with its charset in content_type")
		}
		doc, err = native.NewDocument(d.Html, s.limits.Limits)
	case *poolv1.ExtractRequest_RawHtml:
		field = "raw_html"
		doc, err = native.DecodeDocument(d.RawHtml, req.GetContentType(), s.limits.Limits)
	default:
		return nil, invalidArgument("document", "one of html or raw_html is required")
	}
	if err != nil {
		return nil, s.documentError(field, err)
	}
	doc.SetURL(req.GetUrl())
	return doc, nil
}

// nativePools answers the native pools, or FAILED_PRECONDITION when they are
// disabled by configuration.
func (s *Service) nativePools() (*NativePools, error) {
	if s.native == nil {
		return nil, disabled("native extraction", "NATIVE_POOL_ENABLED")
	}
	return s.native, nil
}

// extractCSS answers a CssSpec.
func (s *Service) extractCSS(ctx context.Context, req *poolv1.ExtractRequest, in *poolv1.CssSpec) (*poolv1.ExtractResponse, error) {
	spec, err := cssSpec(in, "css")
	if err != nil {
		return nil, err
	}
	return extractNative(ctx, s, req, PoolCSS, cssPool, func(c *native.CSS, doc *native.Document, resp *poolv1.ExtractResponse) error {
		values, truncated, err := c.Select(ctx, doc, spec)
		if err != nil {
			return s.nativeError(req, "css", err)
		}
		if in.GetAbsoluteUrls() {
			n, err := c.ResolveURLs(doc, spec, values)
			if err != nil {
				return s.nativeError(req, "css", err)
			}
			resp.UnresolvedUrls = uint32(n)
		}
		resp.Values, resp.Truncated = values, truncated
		return nil
	})
}

// extractRegex answers a RegexSpec.
func (s *Service) extractRegex(ctx context.Context, req *poolv1.ExtractRequest, in *poolv1.RegexSpec) (*poolv1.ExtractResponse, error) {
	spec, err := regexSpec(in, "regex")
	if err != nil {
		return nil, err
	}
	return extractNative(ctx, s, req, PoolRegex, regexPool, func(r *native.Regex, doc *native.Document, resp *poolv1.ExtractResponse) error {
		matches, truncated, err := r.Find(ctx, doc, spec)
		if err != nil {
			return s.nativeError(req, "regex", err)
		}
		resp.Matches, resp.Truncated = regexMatches(matches), truncated
		return nil
	})
}

// The native pools, by kind.
func cssPool(np *NativePools) *pool.Pool[*native.CSS]     { return np.CSS }
func regexPool(np *NativePools) *pool.Pool[*native.Regex] { return np.Regex }

// extractNative runs one native extraction: it reads the request's
// document, takes an extractor of the pool named name (poolOf picks it),
// lets answer fill the response, and times the two.
func extractNative[T pool.Poolable](ctx context.Context, s *Service, req *poolv1.ExtractRequest, name string,
	poolOf func(*NativePools) *pool.Pool[T], answer func(T, *native.Document, *poolv1.ExtractResponse) error,
) (*poolv1.ExtractResponse, error) {
	np, err := s.nativePools()
	if err != nil {
		return nil, err
	}
	doc, err := s.document(req)
	if err != nil {
		return nil, err
	}
	resp := &poolv1.ExtractResponse{Pool: name}
	var began time.Time
	wait, err := onNative(ctx, s, req.GetLeaseId(), name, poolOf(np), func(x T, instance string) error {
		began = time.Now()
		resp.InstanceId = instance
		return answer(x, doc, resp)
	})
	if err != nil {
		return nil, err
	}
	resp.Timing = timing(wait, time.Since(began))
	return resp, nil
}

// onNative runs fn on an extractor of pool p, named name: the leased one
// when leaseID is set, else one checked out for this call. It reports how
// long the checkout waited. fn's error is returned as it is.
func onNative[T pool.Poolable](ctx context.Context, s *Service, leaseID, name string, p *pool.Pool[T], fn func(T, string) error) (time.Duration, error) {
	if leaseID != "" {
		return 0, s.onLease(ctx, leaseID, name, func(held lease.Held) error {
			h := held.(nativeHeld[T]).h
			defer p.Watch(ctx)()
			return fn(h.Value(), instanceID(name, h.ID()))
		})
	}
	h, wait, err := checkout(ctx, p)
	if err != nil {
		return wait, s.poolError(err, name, p.Stats)
	}
	defer h.Release()
	defer p.Watch(ctx)() // health sees work that outlives its deadline
	return wait, fn(h.Value(), instanceID(name, h.ID()))
}

// onCSS is onNative for the CSS pool.
func (s *Service) onCSS(ctx context.Context, leaseID string, fn func(*native.CSS, string) error) (time.Duration, error) {
	return onNative(ctx, s, leaseID, PoolCSS, s.native.CSS, fn)
}

// onRegex is onNative for the regex pool.
func (s *Service) onRegex(ctx context.Context, leaseID string, fn func(*native.Regex, string) error) (time.Duration, error) {
	return onNative(ctx, s, leaseID, PoolRegex, s.native.Regex, fn)
}

// field is one validated question of a FieldsSpec.
type field struct {
	name  string
	path  string // the request field path, for errors
	css   *native.CSSSpec
	regex *native.RegexSpec
	xpath *native.XPathSpec
	// structured asks for the page's structured data.
	structured *native.StructuredSpec
	// absoluteURLs is the css spec's absolute_urls.
	absoluteURLs bool
}

// extractFields answers every field from one parse of the document, with at
// most one CSS and one regex extractor for the whole request. On a lease,
// every field must be of the lease's kind.
func (s *Service) extractFields(ctx context.Context, req *poolv1.ExtractRequest, in *poolv1.FieldsSpec) (*poolv1.ExtractResponse, error) {
	fields, err := s.fieldSpecs(in)
	if err != nil {
		return nil, err
	}
	if _, err := s.nativePools(); err != nil {
		return nil, err
	}
	doc, err := s.document(req)
	if err != nil {
		return nil, err
	}
	var cssSpecs []native.CSSSpec
	for _, f := range fields {
		if f.css != nil {
			cssSpecs = append(cssSpecs, *f.css)
		}
		if f.xpath != nil || f.structured != nil || f.regex != nil && f.regex.Source == native.SourceText {
			// XPath, structured data and the document's text need the
			// tree: the CSS questions had better walk it than read the
			// token stream first.
			doc.UseTree()
		}
	}
	needCSS := len(cssSpecs) > 0 || slices.ContainsFunc(fields, func(f field) bool { return f.xpath != nil || f.structured != nil })
	needRegex := slices.ContainsFunc(fields, func(f field) bool { return f.regex != nil })
	leaseID := req.GetLeaseId()
	if leaseID != "" && needCSS && needRegex {
		l, err := s.leases.Get(leaseID)
		if err != nil {
			return nil, s.leaseError(err, leaseID)
		}
		other := PoolRegex
		if l.Pool == PoolRegex {
			other = PoolCSS
		}
		return nil, leaseMismatch(l.Pool, other)
	}

	resp := &poolv1.ExtractResponse{Fields: make(map[string]*poolv1.FieldResult, len(fields))}
	var began time.Time
	answer := func(css *native.CSS, regex *native.Regex) error {
		began = time.Now()
		// Every CSS field from one reading of the document: one pass
		// over its token stream, or one parse.
		var answers []native.Answer
		if len(cssSpecs) > 0 {
			var err error
			if answers, err = css.SelectEach(ctx, doc, cssSpecs); err != nil {
				return s.nativeError(req, "fields", err)
			}
		}
		size := 0
		for _, f := range fields {
			r := new(poolv1.FieldResult)
			switch {
			case f.xpath != nil:
				if err := s.answerXPathField(ctx, req, css, doc, f, r); err != nil {
					return err
				}
				for _, v := range r.Values {
					size += len(v)
				}
			case f.structured != nil:
				if err := s.answerStructuredField(ctx, req, css, doc, f, r); err != nil {
					return err
				}
				size += proto.Size(r.Result)
			case f.css != nil:
				a := answers[0]
				answers = answers[1:]
				if a.Err != nil {
					return s.nativeError(req, f.path, a.Err)
				}
				r.Values, r.Truncated = a.Values, a.Truncated
				if f.absoluteURLs {
					n, err := css.ResolveURLs(doc, *f.css, r.Values)
					if err != nil {
						return s.nativeError(req, f.path, err)
					}
					r.UnresolvedUrls = uint32(n)
				}
				for _, v := range r.Values {
					size += len(v)
				}
			default:
				matches, truncated, err := regex.Find(ctx, doc, *f.regex)
				if err != nil {
					return s.nativeError(req, f.path, err)
				}
				r.Matches, r.Truncated = regexMatches(matches), truncated
				size += matchesSize(matches)
			}
			if s.limits.MaxResultBytes > 0 && size > s.limits.MaxResultBytes {
				return resultTooLarge(resp.Pool, size, s.limits.MaxResultBytes)
			}
			resp.Truncated = resp.Truncated || r.Truncated
			resp.Fields[f.name] = r
		}
		return nil
	}

	// The CSS extractor is taken before the regex one, always, so two
	// requests can never each hold what the other waits for.
	var wait time.Duration
	switch {
	case needCSS && needRegex:
		resp.Pool = PoolCSS
		wait, err = s.onCSS(ctx, "", func(css *native.CSS, instance string) error {
			resp.InstanceId = instance
			w, err := s.onRegex(ctx, "", func(regex *native.Regex, _ string) error {
				return answer(css, regex)
			})
			wait += w
			return err
		})
	case needCSS:
		resp.Pool = PoolCSS
		wait, err = s.onCSS(ctx, leaseID, func(css *native.CSS, instance string) error {
			resp.InstanceId = instance
			return answer(css, nil)
		})
	default:
		resp.Pool = PoolRegex
		wait, err = s.onRegex(ctx, leaseID, func(regex *native.Regex, instance string) error {
			resp.InstanceId = instance
			return answer(nil, regex)
		})
	}
	if err != nil {
		return nil, err
	}
	resp.Timing = timing(wait, time.Since(began))
	return resp, nil
}

// fieldSpecs validates a FieldsSpec into fields sorted by name, so that
// errors and work are in a stable order.
func (s *Service) fieldSpecs(in *poolv1.FieldsSpec) ([]field, error) {
	if len(in.GetFields()) == 0 {
		return nil, invalidArgument("fields.fields", "at least one field is required")
	}
	if s.limits.MaxFields > 0 && len(in.GetFields()) > s.limits.MaxFields {
		return nil, invalidArgument("fields.fields", "%d fields, at most %d are allowed", len(in.GetFields()), s.limits.MaxFields)
	}
	// Validate in name order, so that a request with several bad fields
	// always reports the same one.
	names := slices.Sorted(maps.Keys(in.GetFields()))
	fields := make([]field, 0, len(names))
	for _, name := range names {
		fs := in.GetFields()[name]
		f := field{name: name, path: fmt.Sprintf("fields.fields[%q]", name)}
		if name == "" {
			return nil, invalidArgument("fields.fields", "field names must not be empty")
		}
		switch spec := fs.GetSpec().(type) {
		case *poolv1.FieldSpec_Css:
			f.path += ".css"
			c, err := cssSpec(spec.Css, f.path)
			if err != nil {
				return nil, err
			}
			f.css, f.absoluteURLs = &c, spec.Css.GetAbsoluteUrls()
		case *poolv1.FieldSpec_Regex:
			f.path += ".regex"
			r, err := regexSpec(spec.Regex, f.path)
			if err != nil {
				return nil, err
			}
			f.regex = &r
		case *poolv1.FieldSpec_Xpath:
			f.path += ".xpath"
			x, err := xpathSpec(spec.Xpath, f.path)
			if err != nil {
				return nil, err
			}
			f.xpath = &x
		case *poolv1.FieldSpec_Structured:
			f.path += ".structured"
			f.structured = &native.StructuredSpec{Syntaxes: spec.Structured.GetSyntaxes(), FlattenGraph: spec.Structured.GetFlattenGraph()}
		default:
			return nil, invalidArgument(f.path, "one of css, xpath, regex or structured is required")
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// checkout takes an item from p and reports how long it waited.
func checkout[T pool.Poolable](ctx context.Context, p *pool.Pool[T]) (*pool.Handle[T], time.Duration, error) {
	began := time.Now()
	h, err := p.Checkout(ctx)
	return h, time.Since(began), err
}

func cssSpec(in *poolv1.CssSpec, path string) (native.CSSSpec, error) {
	out := native.CSSSpec{
		Selector:  in.GetSelector(),
		Attribute: in.GetAttribute(),
		All:       in.GetAll(),
		Limit:     int(in.GetLimit()),
	}
	switch in.GetOutput() {
	case poolv1.CssOutput_CSS_OUTPUT_UNSPECIFIED, poolv1.CssOutput_CSS_OUTPUT_TEXT:
		out.Output = native.OutputText
	case poolv1.CssOutput_CSS_OUTPUT_INNER_HTML:
		out.Output = native.OutputInnerHTML
	case poolv1.CssOutput_CSS_OUTPUT_OUTER_HTML:
		out.Output = native.OutputOuterHTML
	default:
		return out, invalidArgument(path+".output", "unknown output %d", in.GetOutput())
	}
	if in.GetSelector() == "" {
		return out, invalidArgument(path+".selector", "a selector is required")
	}
	return out, nil
}

func regexSpec(in *poolv1.RegexSpec, path string) (native.RegexSpec, error) {
	out := native.RegexSpec{
		Pattern: in.GetPattern(),
		All:     in.GetAll(),
		Limit:   int(in.GetLimit()),
	}
	switch in.GetSource() {
	case poolv1.RegexSource_REGEX_SOURCE_UNSPECIFIED, poolv1.RegexSource_REGEX_SOURCE_TEXT:
		out.Source = native.SourceText
	case poolv1.RegexSource_REGEX_SOURCE_HTML:
		out.Source = native.SourceHTML
	default:
		return out, invalidArgument(path+".source", "unknown source %d", in.GetSource())
	}
	if in.GetPattern() == "" {
		return out, invalidArgument(path+".pattern", "a pattern is required")
	}
	return out, nil
}

func regexMatches(ms []native.Match) []*poolv1.RegexMatch {
	if len(ms) == 0 {
		return nil
	}
	out := make([]*poolv1.RegexMatch, len(ms))
	backing := make([]poolv1.RegexMatch, len(ms))
	for i, m := range ms {
		r := &backing[i]
		r.Value = m.Value
		r.Start = uint32(m.Start)
		r.End = uint32(m.End)
		r.Groups = m.Groups
		r.NamedGroups = m.Named
		out[i] = r
	}
	return out
}

func matchesSize(ms []native.Match) int {
	n := 0
	for _, m := range ms {
		n += len(m.Value)
		for _, g := range m.Groups {
			n += len(g)
		}
		for k, v := range m.Named {
			n += len(k) + len(v)
		}
	}
	return n
}

func timing(wait, extraction time.Duration) *poolv1.Timing {
	return &poolv1.Timing{
		QueueWait:  durationpb.New(wait),
		Extraction: durationpb.New(extraction),
	}
}

// instanceID names an instance in the API, e.g. "css-3".
func instanceID(pool string, id uint64) string {
	b := make([]byte, 0, len(pool)+1+20)
	b = append(b, pool...)
	b = append(b, '-')
	return string(strconv.AppendUint(b, id, 10))
}
