package client

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Document is the page a question is asked of: HTML as UTF-8 text, or
// RawHTML bytes in any charset with an optional ContentType hint. URL is
// the base that links are resolved against.
type Document struct {
	HTML        string
	RawHTML     []byte
	ContentType string
	URL         string
}

// HTML is a Document of UTF-8 text at url ("" for none).
func HTML(html, url string) Document { return Document{HTML: html, URL: url} }

func (d Document) size() int { return len(d.HTML) + len(d.RawHTML) }

func (d Document) request() *poolv1.ExtractRequest {
	req := &poolv1.ExtractRequest{Url: d.URL, ContentType: d.ContentType}
	if d.RawHTML != nil {
		req.Document = &poolv1.ExtractRequest_RawHtml{RawHtml: d.RawHTML}
	} else {
		req.Document = &poolv1.ExtractRequest_Html{Html: d.HTML}
	}
	return req
}

// CSS is a CSS question: the text (or Output, or Attribute) of the first
// match of Selector, or of every match when All.
// AbsoluteURLs resolves URL-valued attributes against the document's URL
// as a browser does.
type CSS struct {
	Selector     string
	Attribute    string
	Output       poolv1.CssOutput
	All          bool
	Limit        uint32
	AbsoluteURLs bool
}

func (q CSS) spec() *poolv1.CssSpec {
	return &poolv1.CssSpec{Selector: q.Selector, Attribute: q.Attribute, Output: q.Output, All: q.All, Limit: q.Limit, AbsoluteUrls: q.AbsoluteURLs}
}

// XPath is an XPath 1.0 question: a node set's texts (or Output, or
// Attribute), or the number, string or boolean the expression answers.
type XPath struct {
	Expression   string
	Attribute    string
	Output       poolv1.CssOutput
	All          bool
	Limit        uint32
	AbsoluteURLs bool
}

func (q XPath) spec() *poolv1.XpathSpec {
	return &poolv1.XpathSpec{Expression: q.Expression, Attribute: q.Attribute, Output: q.Output, All: q.All, Limit: q.Limit, AbsoluteUrls: q.AbsoluteURLs}
}

// Structured asks for a page's structured data (JSON-LD, microdata,
// OpenGraph, RDFa, microformats, Twitter cards, meta tags), shaped as Python's extruct
// answers; Syntaxes chooses (all when empty).
type Structured struct {
	Syntaxes     []string
	FlattenGraph bool
}

func (q Structured) spec() *poolv1.StructuredSpec {
	return &poolv1.StructuredSpec{Syntaxes: q.Syntaxes, FlattenGraph: q.FlattenGraph}
}

// Regex is a regular-expression question (Go RE2 syntax), run against the
// document's visible text unless Source says otherwise.
type Regex struct {
	Pattern string
	All     bool
	Limit   uint32
	Source  poolv1.RegexSource
}

func (q Regex) spec() *poolv1.RegexSpec {
	return &poolv1.RegexSpec{Pattern: q.Pattern, All: q.All, Limit: q.Limit, Source: q.Source}
}

// Field is one named question of a Fields call: a CSS, an XPath, a Regex
// or a Structured question.
type Field struct {
	CSS        *CSS
	XPath      *XPath
	Regex      *Regex
	Structured *Structured
}

// one reports whether exactly one question is set.
func (f Field) one() bool {
	n := 0
	for _, set := range []bool{f.CSS != nil, f.XPath != nil, f.Regex != nil, f.Structured != nil} {
		if set {
			n++
		}
	}
	return n == 1
}

// WASM is a WebAssembly module's extraction: Module (default "article"),
// its Mode, and Selectors for the "custom" mode.
type WASM struct {
	Module    string
	Mode      string
	Selectors []string
}

// Served tells who served a call and how long it took there.
type Served struct {
	Pool       string
	InstanceID string
	QueueWait  time.Duration
	Extraction time.Duration
	Total      time.Duration
	// Fallback is true when a native extractor answered a WASM question
	// because the module's breaker is open.
	Fallback bool
}

func served(r *poolv1.ExtractResponse) Served {
	t := r.GetTiming()
	return Served{
		Pool: r.GetPool(), InstanceID: r.GetInstanceId(), Fallback: r.GetFallback(),
		QueueWait: t.GetQueueWait().AsDuration(), Extraction: t.GetExtraction().AsDuration(), Total: t.GetTotal().AsDuration(),
	}
}

// Values is the answer of a CSS or XPath question.
type Values struct {
	Values []string
	// Truncated is true when the daemon's max_matches cut the answer.
	Truncated bool
	// UnresolvedURLs counts, with AbsoluteURLs, the values left as written.
	UnresolvedURLs int
	// XPath is what an XPath expression answered (its type, and the
	// number or boolean); nil for CSS.
	XPath *poolv1.XpathResult
	Served
}

// Match is one regular-expression match; Start and End are byte offsets in
// the searched text.
type Match struct {
	Value      string
	Start, End int
	Groups     []string
	Named      map[string]string
}

// Matches is the answer of a Regex question.
type Matches struct {
	Matches   []Match
	Truncated bool
	Served
}

// FieldResult is the answer of one field: Values for a CSS or XPath
// question, Matches for a Regex one, Result (extruct's shape) for a
// Structured one.
type FieldResult struct {
	Values    []string
	Matches   []Match
	Truncated bool
	// UnresolvedURLs counts, with AbsoluteURLs, the values left as written.
	UnresolvedURLs int
	XPath          *poolv1.XpathResult
	Result         map[string]any
}

// Fields is the answer of a Fields call, by field name.
type Fields struct {
	Fields map[string]FieldResult
	Served
}

// Result is the answer of a WASM module or of a Structured question: its
// JSON object.
type Result struct {
	Result map[string]any
	// Truncated is true when the daemon cut a Structured answer at one of
	// its bounds (max_structured_items and the others in ListExtractors).
	Truncated bool
	Served
}

// Decode stores the module's result in v, as encoding/json would: a
// typed view such as [Article].
func (r *Result) Decode(v any) error {
	b, err := json.Marshal(r.Result)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Article is the result of the bundled article module (docs/wasm-abi.md).
type Article struct {
	URL                string   `json:"url"`
	Title              string   `json:"title"`
	Byline             string   `json:"byline"`
	PublishedTime      string   `json:"published_time"`
	SiteName           string   `json:"site_name"`
	Description        string   `json:"description"`
	Lang               string   `json:"lang"`
	Dir                string   `json:"dir"`
	Text               string   `json:"text"`
	ContentHTML        string   `json:"content_html"`
	Markdown           string   `json:"markdown"`
	Authors            []string `json:"authors,omitempty"`
	Categories         []string `json:"categories,omitempty"`
	Tags               []string `json:"tags,omitempty"`
	Links              []Link   `json:"links"`
	Media              []Media  `json:"media"`
	WordCount          int      `json:"word_count"`
	ReadingTimeMinutes float64  `json:"reading_time_minutes"`
	QualityScore       int      `json:"quality_score"`
	// Selectors holds, in the custom mode, each selector's matches.
	Selectors map[string][]string `json:"selectors,omitempty"`
}

// Link is a link of an Article, resolved against the page's URL.
type Link struct {
	URL  string `json:"url"`
	Text string `json:"text"`
}

// Media is an image, video or audio element of an Article.
type Media struct {
	Type string `json:"type"`
	URL  string `json:"url"`
	Alt  string `json:"alt"`
}

func matches(ms []*poolv1.RegexMatch) []Match {
	out := make([]Match, len(ms))
	for i, m := range ms {
		out[i] = Match{Value: m.GetValue(), Start: int(m.GetStart()), End: int(m.GetEnd()), Groups: m.GetGroups(), Named: m.GetNamedGroups()}
	}
	return out
}

// CSS answers a CSS question about doc.
func (c *Client) CSS(ctx context.Context, doc Document, q CSS) (*Values, error) {
	return c.caller.css(ctx, doc, q, "")
}

// XPath answers an XPath 1.0 question about doc.
func (c *Client) XPath(ctx context.Context, doc Document, q XPath) (*Values, error) {
	return c.caller.xpath(ctx, doc, q, "")
}

// Structured answers doc's structured data.
func (c *Client) Structured(ctx context.Context, doc Document, q Structured) (*Result, error) {
	return c.caller.structured(ctx, doc, q, "")
}

// Regex answers a regular-expression question about doc.
func (c *Client) Regex(ctx context.Context, doc Document, q Regex) (*Matches, error) {
	return c.caller.regex(ctx, doc, q, "")
}

// Fields answers several named questions about doc from one parse.
func (c *Client) Fields(ctx context.Context, doc Document, fields map[string]Field) (*Fields, error) {
	return c.caller.fields(ctx, doc, fields, "")
}

// WASM runs a WebAssembly module's extraction on doc.
func (c *Client) WASM(ctx context.Context, doc Document, q WASM) (*Result, error) {
	return c.caller.wasm(ctx, doc, q, "")
}

// Article reads doc as an article with the bundled module's mode (""
// for "article").
func (c *Client) Article(ctx context.Context, doc Document, mode string) (*Article, error) {
	req := doc.request()
	req.Spec = &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Module: "article", Mode: mode}}
	r, err := c.caller.extract(ctx, req, doc, "")
	if err != nil {
		return nil, err
	}
	a, err := articleFrom(r.GetResult())
	if err != nil {
		return nil, fmt.Errorf("riptide-poold: decoding the article: %w", err)
	}
	return a, nil
}

func (c *caller) css(ctx context.Context, doc Document, q CSS, lease string) (*Values, error) {
	req := doc.request()
	req.Spec = &poolv1.ExtractRequest_Css{Css: q.spec()}
	r, err := c.extract(ctx, req, doc, lease)
	if err != nil {
		return nil, err
	}
	return &Values{Values: r.GetValues(), Truncated: r.GetTruncated(), UnresolvedURLs: int(r.GetUnresolvedUrls()), Served: served(r)}, nil
}

func (c *caller) xpath(ctx context.Context, doc Document, q XPath, lease string) (*Values, error) {
	req := doc.request()
	req.Spec = &poolv1.ExtractRequest_Xpath{Xpath: q.spec()}
	r, err := c.extract(ctx, req, doc, lease)
	if err != nil {
		return nil, err
	}
	return &Values{Values: r.GetValues(), Truncated: r.GetTruncated(), UnresolvedURLs: int(r.GetUnresolvedUrls()), XPath: r.GetXpath(), Served: served(r)}, nil
}

func (c *caller) regex(ctx context.Context, doc Document, q Regex, lease string) (*Matches, error) {
	req := doc.request()
	req.Spec = &poolv1.ExtractRequest_Regex{Regex: q.spec()}
	r, err := c.extract(ctx, req, doc, lease)
	if err != nil {
		return nil, err
	}
	return &Matches{Matches: matches(r.GetMatches()), Truncated: r.GetTruncated(), Served: served(r)}, nil
}

func (c *caller) structured(ctx context.Context, doc Document, q Structured, lease string) (*Result, error) {
	req := doc.request()
	req.Spec = &poolv1.ExtractRequest_Structured{Structured: q.spec()}
	r, err := c.extract(ctx, req, doc, lease)
	if err != nil {
		return nil, err
	}
	return &Result{Result: r.GetResult().AsMap(), Truncated: r.GetTruncated(), Served: served(r)}, nil
}

func (c *caller) fields(ctx context.Context, doc Document, fields map[string]Field, lease string) (*Fields, error) {
	spec := &poolv1.FieldsSpec{Fields: make(map[string]*poolv1.FieldSpec, len(fields))}
	for name, f := range fields {
		switch {
		case !f.one():
			return nil, invalid("fields."+name, "a field is exactly one of a CSS, an XPath, a Regex or a Structured question")
		case f.CSS != nil:
			spec.Fields[name] = &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Css{Css: f.CSS.spec()}}
		case f.XPath != nil:
			spec.Fields[name] = &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Xpath{Xpath: f.XPath.spec()}}
		case f.Regex != nil:
			spec.Fields[name] = &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Regex{Regex: f.Regex.spec()}}
		default:
			spec.Fields[name] = &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Structured{Structured: f.Structured.spec()}}
		}
	}
	req := doc.request()
	req.Spec = &poolv1.ExtractRequest_Fields{Fields: spec}
	r, err := c.extract(ctx, req, doc, lease)
	if err != nil {
		return nil, err
	}
	out := &Fields{Fields: make(map[string]FieldResult, len(r.GetFields())), Served: served(r)}
	for name, f := range r.GetFields() {
		fr := FieldResult{Values: f.GetValues(), Matches: matches(f.GetMatches()), Truncated: f.GetTruncated(),
			UnresolvedURLs: int(f.GetUnresolvedUrls()), XPath: f.GetXpath()}
		if res := f.GetResult(); res != nil {
			fr.Result = res.AsMap()
		}
		out.Fields[name] = fr
	}
	return out, nil
}

func (c *caller) wasm(ctx context.Context, doc Document, q WASM, lease string) (*Result, error) {
	req := doc.request()
	req.Spec = &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Module: q.Module, Mode: q.Mode, Selectors: q.Selectors}}
	r, err := c.extract(ctx, req, doc, lease)
	if err != nil {
		return nil, err
	}
	return &Result{Result: r.GetResult().AsMap(), Served: served(r)}, nil
}

// extract sends an Extract, on a lease when lease is set. A document over
// the daemon's MAX_DOCUMENT_BYTES is refused here, as the daemon would,
// without sending it.
func (c *caller) extract(ctx context.Context, req *poolv1.ExtractRequest, doc Document, lease string) (*poolv1.ExtractResponse, error) {
	if c.maxDoc > 0 && doc.size() > c.maxDoc {
		field := "html"
		if doc.RawHTML != nil {
			field = "raw_html"
		}
		return nil, &Error{
			Code: codes.ResourceExhausted, Reason: ReasonDocumentTooLarge, Field: field,
			Message: fmt.Sprintf("%s: %d bytes, over the daemon's max_document_bytes %d (not sent)", field, doc.size(), c.maxDoc),
			status:  status.New(codes.ResourceExhausted, "document too large"),
		}
	}
	class := idempotent
	if lease != "" {
		req.LeaseId = lease
		class = never
	}
	return call(ctx, c, class, c.rpc.Extract, req)
}

// invalid is a request refused before it is sent.
func invalid(field, msg string) *Error {
	return &Error{
		Code: codes.InvalidArgument, Reason: ReasonInvalidRequest, Field: field, Message: field + ": " + msg,
		status: status.New(codes.InvalidArgument, field+": "+msg),
	}
}
