package server_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// fuzzLimits are small, so that the fuzzer reaches the size limits often.
var fuzzLimits = server.Limits{
	Limits: native.Limits{
		MaxDocumentBytes: 64 << 10,
		MaxResultBytes:   4 << 10,
		MaxMatches:       50,
		MaxSelectorLen:   256,
		MaxPatternLen:    256,
	},
	MaxFields: 8,
}

// Spec kinds the fuzzer chooses between.
const (
	fuzzCSS = iota
	fuzzRegex
	fuzzFields
	fuzzNoSpec
	fuzzXPath      // selector is the expression; source odd asks absolute_urls
	fuzzStructured // pattern is the syntaxes, comma-separated; all asks flatten_graph
	fuzzKinds
)

// FuzzExtract sends arbitrary documents and specs through the real gRPC path
// and checks that the daemon never panics (the harness has no recovering
// interceptor) and that every error is a status of the API contract: a
// documented code with an ErrorInfo reason, never UNKNOWN or INTERNAL.
//
// Some seeds are large pages, whose minimization is slow; fuzz with a short
// -fuzzminimizetime:
//
//	go test -run '^$' -fuzz '^FuzzExtract$' -fuzztime 2m -fuzzminimizetime 5s ./internal/server
func FuzzExtract(f *testing.F) {
	type seed struct {
		doc       string
		raw       bool
		ctype     string
		kind      uint8
		selector  string
		attribute string
		output    int32
		pattern   string
		source    int32
		all       bool
		limit     uint32
	}
	seeds := []seed{
		{doc: page, kind: fuzzCSS, selector: "p", all: true},
		{doc: page, kind: fuzzCSS, selector: "a", attribute: "href", all: true, limit: 1},
		{doc: page, kind: fuzzCSS, selector: "h1", output: 3},
		{doc: page, kind: fuzzCSS, selector: "a[", all: true},
		{doc: page, kind: fuzzCSS, selector: "a", attribute: "x y"},
		{doc: page, kind: fuzzCSS, selector: "p", output: 42},
		{doc: page, kind: fuzzRegex, pattern: `\$(\d+)\.(?P<cents>\d+)`, all: true},
		{doc: page, kind: fuzzRegex, pattern: `href="([^"]*)"`, source: 2, all: true, limit: 3},
		{doc: page, kind: fuzzRegex, pattern: "(", source: 1},
		{doc: page, kind: fuzzRegex, pattern: `\b`, all: true},
		{doc: page, kind: fuzzRegex, pattern: "a", source: -5},
		{doc: page, kind: fuzzFields, selector: "title", pattern: `SKU-\d+`, all: true},
		{doc: page, kind: fuzzFields, selector: "::x", pattern: "[", all: true},
		{doc: page, kind: fuzzNoSpec},
		{doc: "", kind: fuzzCSS, selector: "p"},
		{doc: "", raw: true, kind: fuzzRegex, pattern: "x"},
		{doc: strings.Repeat("<p>x</p>", 1200), kind: fuzzCSS, selector: "p", all: true},
		{doc: strings.Repeat("<b>", 2000) + "x", kind: fuzzCSS, selector: "b", output: 3, all: true},
		{doc: strings.Repeat("<div>", 600), kind: fuzzRegex, pattern: "x"},
		{doc: strings.Repeat("a", 70<<10), kind: fuzzCSS, selector: "p"},
		{doc: string(cp1252Meta), raw: true, kind: fuzzCSS, selector: "title"},
		{doc: string(cp1252Plain), raw: true, ctype: "text/html; charset=windows-1252", kind: fuzzRegex, pattern: "€"},
		{doc: "\xFE\xFF\x00<\x00p\x00>\x00x", raw: true, ctype: "text/html; charset=bogus", kind: fuzzCSS, selector: "p"},
		{doc: "<meta charset=utf-16><p>x", raw: true, kind: fuzzCSS, selector: "p"},
		// Invalid UTF-8, which a proto3 string cannot carry: repaired or
		// sent as raw_html by the fuzz function.
		{doc: "<p>\xff\xfe</p>", kind: fuzzCSS, selector: "p"},
		{doc: page, kind: fuzzCSS, selector: "p\xc0"},
		{doc: page, kind: fuzzRegex, pattern: "\xed\xa0\x80"},
		{doc: page, kind: fuzzXPath, selector: "//a/@href", all: true, source: 1},
		{doc: page, kind: fuzzXPath, selector: "count(//li)"},
		{doc: page, kind: fuzzXPath, selector: "//li[position() mod 2 = 0]", output: 3, all: true, limit: 1},
		{doc: page, kind: fuzzXPath, selector: "//a", attribute: "href", source: 1},
		{doc: page, kind: fuzzXPath, selector: "//a["},
		{doc: strings.Repeat("<div><i>x</i></div>", 500), kind: fuzzXPath, selector: "//*[count(//*) > 0]", all: true},
		{doc: structuredPage, kind: fuzzStructured},
		{doc: structuredPage, kind: fuzzStructured, pattern: "json-ld,microdata", all: true},
		{doc: structuredPage, kind: fuzzStructured, pattern: "rdfa,microformat,meta"},
		{doc: structuredPage, kind: fuzzStructured, pattern: "dublincore"},
		{doc: strings.Repeat(`<div itemscope><span itemprop="a">x</span>`, 300), kind: fuzzStructured, pattern: "microdata"},
	}
	for _, s := range seeds {
		f.Add(s.doc, s.raw, s.ctype, s.kind, s.selector, s.attribute, s.output, s.pattern, s.source, s.all, s.limit)
	}

	cfg := config.Default()
	cfg.NativePoolSize, cfg.NativeMaxInstances = 1, 4
	h := newGRPCHarness(f, grpcOptions{cfg: cfg, limits: &fuzzLimits})

	f.Fuzz(func(t *testing.T, doc string, raw bool, ctype string, kind uint8, selector, attribute string, output int32, pattern string, source int32, all bool, limit uint32) {
		// A proto3 string must be UTF-8, and the Go client refuses to send
		// one that is not (TestGRPCExtractInvalidUTF8 pins that). Repair the
		// spec's strings and send an invalid document as raw_html, so that
		// every input reaches the server.
		selector, attribute, pattern = validUTF8(selector), validUTF8(attribute), validUTF8(pattern)
		ctype = validUTF8(ctype)
		if !utf8.ValidString(doc) {
			raw = true
		}
		css := &poolv1.CssSpec{Selector: selector, Attribute: attribute, Output: poolv1.CssOutput(output), All: all, Limit: limit}
		regex := &poolv1.RegexSpec{Pattern: pattern, All: all, Limit: limit, Source: poolv1.RegexSource(source)}
		req := &poolv1.ExtractRequest{ContentType: ctype}
		if raw {
			req.Document = rawDoc([]byte(doc))
		} else {
			req.Document = htmlDoc(doc)
		}
		switch kind % fuzzKinds {
		case fuzzCSS:
			req.Spec = cssReq(css)
		case fuzzRegex:
			req.Spec = regexReq(regex)
		case fuzzFields:
			req.Spec = fieldsReq(map[string]*poolv1.FieldSpec{"c": cssField(css), "r": regexField(regex)})
		case fuzzXPath:
			req.Url = "https://e.org/d/p"
			req.Spec = xpathReq(&poolv1.XpathSpec{Expression: selector, Attribute: attribute, Output: poolv1.CssOutput(output),
				All: all, Limit: limit, AbsoluteUrls: source%2 != 0})
		case fuzzStructured:
			req.Url = "https://e.org/d/p"
			var syntaxes []string
			if pattern != "" {
				syntaxes = strings.Split(pattern, ",")
			}
			req.Spec = structuredReq(&poolv1.StructuredSpec{Syntaxes: syntaxes, FlattenGraph: all})
		}

		// No extraction of a 64 KiB document may take long; a deadline
		// turns a hang into a failing input the fuzzer can report.
		ctx, cancel := context.WithTimeout(t.Context(), fuzzCallTimeout)
		defer cancel()
		resp, err := h.client.Extract(ctx, req)
		if detailOf(err).code == codes.DeadlineExceeded {
			t.Fatalf("Extract took over %v: %v", fuzzCallTimeout, err)
		}
		if err != nil {
			checkContractError(t, err)
			return
		}
		checkResponse(t, req, resp)
	})
}

// checkContractError fails unless err is a status the API contract
// documents for native extraction.
func checkContractError(t *testing.T, err error) {
	t.Helper()
	d := detailOf(err)
	if !d.isStatus {
		t.Fatalf("error is not a gRPC status: %v", err)
	}
	want := map[codes.Code][]string{
		codes.InvalidArgument:   {server.ReasonInvalidRequest},
		codes.ResourceExhausted: {server.ReasonDocumentTooLarge, server.ReasonResultTooLarge, server.ReasonPoolExhausted},
	}[d.code]
	if want == nil {
		t.Fatalf("status %v (%q) is not one native extraction may answer", d.code, d.message)
	}
	if d.domain != server.ErrorDomain || !containsString(want, d.reason) {
		t.Fatalf("status %v (%q) has ErrorInfo reason %q domain %q, want one of %q in %q", d.code, d.message, d.reason, d.domain, want, server.ErrorDomain)
	}
	if d.reason == server.ReasonInvalidRequest && len(d.fields) != 1 {
		t.Fatalf("INVALID_REQUEST (%q) names fields %q, want exactly one", d.message, d.fields)
	}
}

// checkResponse checks what every successful answer promises.
func checkResponse(t *testing.T, req *poolv1.ExtractRequest, resp *poolv1.ExtractResponse) {
	t.Helper()
	if resp.GetPool() == "" || resp.GetInstanceId() == "" || resp.GetTiming() == nil {
		t.Fatalf("response without pool, instance or timing: %v", resp)
	}
	maxMatches := fuzzLimits.MaxMatches
	size := 0
	checkMatches := func(ms []*poolv1.RegexMatch, source poolv1.RegexSource) {
		if len(ms) > maxMatches {
			t.Fatalf("%d matches, over max_matches %d", len(ms), maxMatches)
		}
		for _, m := range ms {
			if int(m.GetEnd())-int(m.GetStart()) != len(m.GetValue()) {
				t.Fatalf("match %q spans [%d,%d)", m.GetValue(), m.GetStart(), m.GetEnd())
			}
			// Offsets into the HTML as sent, when it was sent as text.
			if doc, ok := req.GetDocument().(*poolv1.ExtractRequest_Html); ok && source == poolv1.RegexSource_REGEX_SOURCE_HTML {
				if int(m.GetEnd()) > len(doc.Html) || doc.Html[m.GetStart():m.GetEnd()] != m.GetValue() {
					t.Fatalf("match %q at [%d,%d) is not that slice of the document", m.GetValue(), m.GetStart(), m.GetEnd())
				}
			}
			size += len(m.GetValue())
			for _, g := range m.GetGroups() {
				size += len(g)
			}
			for k, v := range m.GetNamedGroups() {
				size += len(k) + len(v)
			}
		}
	}
	checkValues := func(vs []string) {
		if len(vs) > maxMatches {
			t.Fatalf("%d values, over max_matches %d", len(vs), maxMatches)
		}
		for _, v := range vs {
			size += len(v)
		}
	}
	switch spec := req.GetSpec().(type) {
	case *poolv1.ExtractRequest_Css:
		checkValues(resp.GetValues())
	case *poolv1.ExtractRequest_Xpath:
		checkValues(resp.GetValues())
		switch typ := resp.GetXpath().GetType(); typ {
		case poolv1.XpathResultType_XPATH_RESULT_TYPE_NODE_SET:
		case poolv1.XpathResultType_XPATH_RESULT_TYPE_STRING, poolv1.XpathResultType_XPATH_RESULT_TYPE_NUMBER,
			poolv1.XpathResultType_XPATH_RESULT_TYPE_BOOLEAN:
			if len(resp.GetValues()) != 1 {
				t.Fatalf("xpath answered %v with %d values, want one", typ, len(resp.GetValues()))
			}
		default:
			t.Fatalf("xpath answered type %v", typ)
		}
	case *poolv1.ExtractRequest_Structured:
		// Every key is a syntax asked for (all when none is), or the
		// errors of the JSON-LD blocks.
		asked := spec.Structured.GetSyntaxes()
		for key := range resp.GetResult().GetFields() {
			if key == "json-ld-errors" {
				key = "json-ld"
			}
			if len(asked) > 0 && !containsString(asked, key) || !containsString(native.Syntaxes(), key) {
				t.Fatalf("structured answer has key %q; asked %q", key, asked)
			}
		}
	case *poolv1.ExtractRequest_Regex:
		checkMatches(resp.GetMatches(), spec.Regex.GetSource())
	case *poolv1.ExtractRequest_Fields:
		for name, fs := range spec.Fields.GetFields() {
			r, ok := resp.GetFields()[name]
			if !ok {
				t.Fatalf("field %q missing from %v", name, resp.GetFields())
			}
			checkValues(r.GetValues())
			checkMatches(r.GetMatches(), fs.GetRegex().GetSource())
		}
	}
	if size > fuzzLimits.MaxResultBytes {
		t.Fatalf("result of %d bytes over MAX_RESULT_BYTES %d", size, fuzzLimits.MaxResultBytes)
	}
}

// fuzzCallTimeout bounds one fuzzed call. It is not a performance
// assertion: only a call stuck far beyond any normal time trips it.
const fuzzCallTimeout = 10 * time.Second

func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rawCodec sends bytes as they are, standing in for a client in a language
// whose protobuf library does not check that strings are UTF-8.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return v.([]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { return proto.Unmarshal(data, v.(proto.Message)) }
func (rawCodec) Name() string                       { return "proto" }

// A proto3 string must be UTF-8. What a client sees when one is not is
// pinned here: the Go client refuses to send it, and a client whose library
// does not check gets the contract's INVALID_ARGUMENT naming the field
// (grpcwire's codec leaves the check to the handler).
func TestGRPCExtractInvalidUTF8(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	bad := "<p>caf\xe9</p>"

	t.Run("go client", func(t *testing.T) {
		before := h.native.CSS.Stats().Checkouts
		_, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(bad), Spec: cssReq(&poolv1.CssSpec{Selector: "p"})})
		d := detailOf(err)
		if d.code != codes.Internal || !strings.Contains(d.message, "error while marshaling: string field contains invalid UTF-8") {
			t.Errorf("status %v %q, want the client's INTERNAL marshalling error", d.code, d.message)
		}
		if got := h.native.CSS.Stats().Checkouts; got != before {
			t.Errorf("the request reached the pool (%d checkouts, was %d)", got, before)
		}
	})

	t.Run("other clients", func(t *testing.T) {
		var wire []byte
		wire = protowire.AppendTag(wire, 1, protowire.BytesType) // html
		wire = protowire.AppendString(wire, bad)
		spec, err := proto.Marshal(&poolv1.CssSpec{Selector: "p"})
		if err != nil {
			t.Fatal(err)
		}
		wire = protowire.AppendTag(wire, 5, protowire.BytesType) // css
		wire = protowire.AppendBytes(wire, spec)

		resp := new(poolv1.ExtractResponse)
		err = h.conn.Invoke(t.Context(), poolv1.PoolService_Extract_FullMethodName, wire, resp, grpc.ForceCodec(rawCodec{}))
		errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"}.check(t, err)
	})
}
