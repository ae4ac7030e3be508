package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
)

const structuredPage = `<html><head><meta property="og:title" content="T"><meta name="twitter:card" content="summary">
<script type="application/ld+json">{"@type": "Article", "headline": "H", "wordCount": 120}</script>
<script type="application/ld+json">{oops</script></head>
<body><div itemscope itemtype="http://schema.org/Product"><span itemprop="name">W</span><a itemprop="url" href="/w">w</a></div></body></html>`

func structuredReq(spec *poolv1.StructuredSpec) *poolv1.ExtractRequest_Structured {
	return &poolv1.ExtractRequest_Structured{Structured: spec}
}

func TestGRPCExtractStructured(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(structuredPage), Url: "https://e.org/p",
		Spec: structuredReq(&poolv1.StructuredSpec{})})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	checkServedBy(t, resp, server.PoolCSS)
	got, err := protojson.Marshal(resp.GetResult())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"json-ld":[{"@type":"Article","headline":"H","wordCount":120}]`,
		`"json-ld-errors":[{"error":`,
		`"microdata":[{"properties":{"name":"W","url":"https://e.org/w"},"type":"http://schema.org/Product"}]`,
		`"opengraph":[{"namespace":{"og":"http://ogp.me/ns#"},"properties":[["og:title","T"]]}]`,
		`"twitter":[["twitter:card","summary"]]`,
		`"rdfa":[{"@id":"https://e.org/p","http://ogp.me/ns#title":[{"@value":"T"}]}]`,
	} {
		if !strings.Contains(strings.ReplaceAll(string(got), " ", ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("result %s\nlacks %s", got, want)
		}
	}

	resp, err = h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(structuredPage),
		Spec: structuredReq(&poolv1.StructuredSpec{Syntaxes: []string{"opengraph"}})})
	if err != nil {
		t.Fatalf("Extract opengraph only: %v", err)
	}
	if f := resp.GetResult().GetFields(); len(f) != 1 || f["opengraph"] == nil {
		t.Errorf("syntaxes [opengraph]: result keys %v", f)
	}

	resp, err = h.client.Extract(t.Context(), &poolv1.ExtractRequest{
		Document: htmlDoc(`<div class="h-entry"><a class="p-author h-card" href="/ann">Ann</a><time class="dt-published" datetime="2020-01-02 3pm"></time></div>`),
		Url:      "https://e.org/p", Spec: structuredReq(&poolv1.StructuredSpec{Syntaxes: []string{"microformat"}})})
	if err != nil {
		t.Fatalf("Extract microformat: %v", err)
	}
	// encoding/json writes the answer again in one form: protojson's
	// spacing varies from run to run.
	var answer any
	if b, err := protojson.Marshal(resp.GetResult()); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &answer); err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(answer)
	want := `{"microformat":[{"properties":{"author":[{"properties":{"name":["Ann"],"url":["https://e.org/ann"]},"type":["h-card"],"value":"Ann"}],"published":["2020-01-02 15:00"]},"type":["h-entry"]}]}`
	if string(got) != want {
		t.Errorf("syntaxes [microformat]: result %s\nwant %s", got, want)
	}
}

func TestGRPCExtractStructuredInvalid(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	for _, tc := range []errorCase{
		{name: "unknown syntax", req: &poolv1.ExtractRequest{Document: htmlDoc(structuredPage), Spec: structuredReq(&poolv1.StructuredSpec{Syntaxes: []string{"dublincore"}})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "structured.syntaxes"},
		{name: "empty document", req: &poolv1.ExtractRequest{Document: htmlDoc(""), Spec: structuredReq(&poolv1.StructuredSpec{})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client.Extract(t.Context(), tc.req)
			tc.check(t, err)
		})
	}
}

func TestGRPCListExtractorsStructured(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	resp, err := h.client.ListExtractors(t.Context(), &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	l := resp.GetLimits()
	if l.GetMaxJsonLdBytes() != native.MaxJSONLDBytes || l.GetMaxJsonLdDepth() != native.MaxJSONLDDepth ||
		l.GetMaxStructuredItems() != native.MaxStructuredItems || l.GetMaxMicrodataDepth() != native.MaxMicrodataDepth ||
		l.GetMaxRdfaDepth() != native.MaxRDFaDepth || l.GetMaxRdfaBytes() != native.MaxRDFaBytes || l.GetMaxXpathNesting() != native.MaxXPathNesting ||
		l.GetMaxMicroformatDepth() != native.MaxMicroformatDepth || l.GetMaxMicroformatBytes() != native.MaxMicroformatBytes {
		t.Errorf("structured limits = %v", l)
	}
	found := false
	for _, e := range resp.GetExtractors() {
		if e.GetPool() != server.PoolCSS {
			continue
		}
		found = true
		if !slices.Contains(e.GetSpecs(), "structured") {
			t.Errorf("css pool specs = %q, want structured among them", e.GetSpecs())
		}
	}
	if !found {
		t.Errorf("no css pool among %v", resp.GetExtractors())
	}
}

// TestGRPCExtractStructuredField: a structured field answers result from
// the same parse as the request's CSS and XPath fields; a bad one names
// its path.
func TestGRPCExtractStructuredField(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(structuredPage), Url: "https://e.org/p", Spec: fieldsReq(map[string]*poolv1.FieldSpec{
		"data":  {Spec: &poolv1.FieldSpec_Structured{Structured: &poolv1.StructuredSpec{Syntaxes: []string{"json-ld", "microdata"}}}},
		"og":    {Spec: &poolv1.FieldSpec_Structured{Structured: &poolv1.StructuredSpec{Syntaxes: []string{"opengraph"}}}},
		"name":  {Spec: &poolv1.FieldSpec_Css{Css: &poolv1.CssSpec{Selector: "[itemprop=name]"}}},
		"count": {Spec: &poolv1.FieldSpec_Xpath{Xpath: &poolv1.XpathSpec{Expression: "count(//script)"}}},
	})})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	checkServedBy(t, resp, server.PoolCSS)
	f := resp.GetFields()
	if got := f["name"].GetValues(); len(got) != 1 || got[0] != "W" {
		t.Errorf("name = %q, want [W]", got)
	}
	if got := f["count"].GetXpath().GetNumber(); got != 2 {
		t.Errorf("count = %v, want 2", got)
	}
	data, err := protojson.Marshal(f["data"].GetResult())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"json-ld":[{"@type":"Article","headline":"H","wordCount":120}]`, `"url":"https://e.org/w"`} {
		if !strings.Contains(strings.ReplaceAll(string(data), " ", ""), want) {
			t.Errorf("data = %s\nlacks %s", data, want)
		}
	}
	if keys := f["data"].GetResult().GetFields(); keys["opengraph"] != nil || keys["microdata"] == nil {
		t.Errorf("data answers %v, want json-ld and microdata only", keys)
	}
	if og := f["og"].GetResult().GetFields(); len(og) != 1 || og["opengraph"] == nil {
		t.Errorf("og answers %v, want opengraph", og)
	}

	for _, tc := range []errorCase{
		{name: "unknown syntax in a field", req: &poolv1.ExtractRequest{Document: htmlDoc(structuredPage), Spec: fieldsReq(map[string]*poolv1.FieldSpec{
			"s": {Spec: &poolv1.FieldSpec_Structured{Structured: &poolv1.StructuredSpec{Syntaxes: []string{"dublincore"}}}},
		})}, code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: `fields.fields["s"].structured.syntaxes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client.Extract(t.Context(), tc.req)
			tc.check(t, err)
		})
	}
	if st := h.native.CSS.Stats(); st.InUse != 0 {
		t.Errorf("css pool in use = %d after the calls, want 0", st.InUse)
	}
}
