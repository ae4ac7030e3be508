package native

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// structuredJSON answers spec on page as compact JSON with sorted keys.
func structuredJSON(t testing.TB, page string, spec StructuredSpec) (string, bool) {
	t.Helper()
	doc, err := NewDocument(page, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	doc.SetURL("https://e.org/d/p")
	ans, err := NewCSS(nil, Limits{}).Structured(context.Background(), doc, spec)
	if err != nil {
		t.Fatalf("Structured: %v", err)
	}
	b, err := json.Marshal(ans.Data)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), ans.Truncated
}

// structuredUnbounded answers spec on page with no limit on the document or
// result size, so that only the syntaxes' own bounds can stop the walk.
func structuredUnbounded(t testing.TB, page string, spec StructuredSpec) StructuredAnswer {
	t.Helper()
	doc, err := NewDocument(page, Limits{MaxDocumentBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := NewCSS(nil, Limits{MaxResultBytes: 1 << 30}).Structured(context.Background(), doc, spec)
	if err != nil {
		t.Fatalf("Structured: %v", err)
	}
	return ans
}

func ldScript(s string) string { return `<script type="application/ld+json">` + s + `</script>` }

func TestStructuredJSONLD(t *testing.T) {
	only := StructuredSpec{Syntaxes: []string{SyntaxJSONLD}}
	tests := []struct {
		name, page string
		spec       StructuredSpec
		want       string
	}{
		{"object", ldScript(`{"@type": "Article", "n": 1.50}`), only, `{"json-ld":[{"@type":"Article","n":1.50}]}`},
		{"array gives its elements, empty ones dropped", ldScript(`[{"a": 1}, {}, {"b": 2}]`), only, `{"json-ld":[{"a":1},{"b":2}]}`},
		{"several blocks in order", ldScript(`{"a": 1}`) + ldScript(`{"b": 2}`), only, `{"json-ld":[{"a":1},{"b":2}]}`},
		{"type case and space", `<script type=" Application/LD+JSON ">{"a": 1}</script>`, only, `{"json-ld":[{"a":1}]}`},
		{"other scripts ignored", `<script>{"a": 1}</script>`, only, `{"json-ld":[]}`},
		{"graph kept", ldScript(`{"@context": "c", "@graph": [{"@id": "x"}]}`), only, `{"json-ld":[{"@context":"c","@graph":[{"@id":"x"}]}]}`},
		{"graph flattened", ldScript(`{"@context": "c", "@graph": [{"@id": "x"}, {"@id": "y", "@context": "own"}]}`),
			StructuredSpec{Syntaxes: []string{SyntaxJSONLD}, FlattenGraph: true},
			`{"json-ld":[{"@context":"c","@id":"x"},{"@context":"own","@id":"y"}]}`},
		{"raw control characters in strings", ldScript("{\"a\": \"line\nbreak\ttab\"}"), only, `{"json-ld":[{"a":"line\nbreak\ttab"}]}`},
		{"leading comment line", ldScript("<!-- x -->\n{\"a\": 1}"), only, `{"json-ld":[{"a":1}]}`},
		{"invalid block skipped, reported", ldScript(`{"a": 1`) + ldScript(`{"b": 2}`), only,
			`{"json-ld":[{"b":2}],"json-ld-errors":[{"error":"unexpected EOF","index":0}]}`},
		{"data after the value", ldScript(`{"a": 1} {"b": 2}`), only,
			`{"json-ld":[],"json-ld-errors":[{"error":"invalid JSON: data after the value","index":0}]}`},
		{"too deep", ldScript(strings.Repeat("[", 65) + strings.Repeat("]", 65)), only,
			`{"json-ld":[],"json-ld-errors":[{"error":"nested 65 deep, over the limit of 64 (MaxJSONLDDepth)","index":0}]}`},
		{"brackets in strings do not nest", ldScript(`{"a": "` + strings.Repeat("[", 100) + `"}`), only, `{"json-ld":[{"a":"` + strings.Repeat("[", 100) + `"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := structuredJSON(t, tt.page, tt.spec); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestStructuredJSONLDTooLarge(t *testing.T) {
	got, _ := structuredJSON(t, ldScript(`{"a": "`+strings.Repeat("x", MaxJSONLDBytes)+`"}`), StructuredSpec{Syntaxes: []string{SyntaxJSONLD}})
	if !strings.Contains(got, "MaxJSONLDBytes") || !strings.Contains(got, `"json-ld":[]`) {
		t.Errorf("got %.200s, want the block refused for its size", got)
	}
}

func TestStructuredMicrodata(t *testing.T) {
	only := StructuredSpec{Syntaxes: []string{SyntaxMicrodata}}
	tests := []struct {
		name, page, want string
	}{
		{"values by element",
			`<div itemscope itemtype="http://schema.org/Thing" itemid=" urn:x "><span itemprop="name"> A  b </span><meta itemprop="m" content="M">
<a itemprop="url" href="/u">u</a><img itemprop="image" src="i.png"><time itemprop="t" datetime="2020">x</time><data itemprop="d" value="7">s</data>
<span itemprop="c" content="C">x</span></div>`,
			`{"microdata":[{"id":"urn:x","properties":{"c":"C","d":"7","image":"https://e.org/d/i.png","m":"M","name":"A b","t":"2020","url":"https://e.org/u"},"type":"http://schema.org/Thing"}]}`},
		{"nested item, several values and names, several types",
			`<div itemscope itemtype="a b"><span itemprop="x y">1</span><span itemprop="x">2</span>
<div itemprop="n" itemscope itemtype="c"><span itemprop="z">3</span></div></div>`,
			`{"microdata":[{"properties":{"n":{"properties":{"z":"3"},"type":"c"},"x":["1","2"],"y":"1"},"type":["a","b"]}]}`},
		{"item without properties answers its value", `<p itemscope itemtype="t">Just text</p>`,
			`{"microdata":[{"type":"t","value":"Just text"}]}`},
		{"itemref", `<div itemscope itemtype="t" itemref="r1 r2 missing"></div><p id="r1" itemprop="a">A</p><div id="r2"><span itemprop="b">B</span></div>`,
			`{"microdata":[{"properties":{"a":"A","b":"B"},"type":"t"}]}`},
		{"itemref cycle followed once", `<div id="x" itemscope itemtype="t" itemref="y"><span itemprop="p">P</span></div><div id="y" itemprop="q" itemscope itemref="x"></div>`,
			// y refers back to x, whose own properties it takes; x is not
			// entered again.
			`{"microdata":[{"properties":{"p":"P","q":{"properties":{"p":"P"}}},"type":"t"}]}`},
		{"no type, no id", `<div itemscope itemid="i"><b itemprop="p">P</b></div>`, `{"microdata":[{"properties":{"p":"P"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := structuredJSON(t, tt.page, only); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestStructuredMicrodataDepth(t *testing.T) {
	page := strings.Repeat(`<div itemprop="p" itemscope>`, 40) + "deep" + strings.Repeat("</div>", 40)
	got, _ := structuredJSON(t, "<div itemscope>"+page+"</div>", StructuredSpec{Syntaxes: []string{SyntaxMicrodata}})
	if n := strings.Count(got, `"properties"`); n != MaxMicrodataDepth+1 {
		t.Errorf("%d levels of items, want %d then text: %s", n, MaxMicrodataDepth+1, got)
	}
	if !strings.Contains(got, `"p":"deep"`) {
		t.Errorf("the deepest item should answer its text: %s", got)
	}
}

func TestStructuredMeta(t *testing.T) {
	page := `<html prefix="my: http://my.org/ns# og: http://ogp.me/ns#"><head prefix="fb: http://fb.com/ns">
<meta property="og:title" content="T"><meta property="my:x" content="X"><meta property="fb:app_id" content="1">
<meta property="other:y" content="Y"><meta property="og:image" content="">
<meta name="twitter:card" content="summary"><meta property="twitter:site" content="@s">
<meta name="description" content="D"><meta charset="utf-8"><meta http-equiv="refresh" content="5"></head></html>`
	got, _ := structuredJSON(t, page, StructuredSpec{Syntaxes: []string{SyntaxOpenGraph, SyntaxTwitter, SyntaxMeta}})
	want := `{"meta":[{"content":"T","property":"og:title"},{"content":"X","property":"my:x"},{"content":"1","property":"fb:app_id"},` +
		`{"content":"Y","property":"other:y"},{"content":"","property":"og:image"},{"content":"summary","name":"twitter:card"},` +
		`{"content":"@s","property":"twitter:site"},{"content":"D","name":"description"},{"content":"5","http-equiv":"refresh"}],` +
		`"opengraph":[{"namespace":{"fb":"http://fb.com/ns","my":"http://my.org/ns#","og":"http://ogp.me/ns#"},` +
		`"properties":[["og:title","T"],["my:x","X"],["fb:app_id","1"],["og:image",""]]}],` +
		`"twitter":[["twitter:card","summary"],["twitter:site","@s"]]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestStructuredItemsBounded(t *testing.T) {
	page := ldScript("["+strings.Repeat(`{"a":1},`, MaxStructuredItems+10)+`{"a":1}]`) + strings.Repeat(`<meta name="n" content="c">`, 20)
	got, truncated := structuredJSON(t, page, StructuredSpec{})
	if !truncated {
		t.Error("truncated = false over MaxStructuredItems")
	}
	if n := strings.Count(got, `{"a":1}`); n != MaxStructuredItems {
		t.Errorf("%d JSON-LD items, want %d", n, MaxStructuredItems)
	}
}

func TestStructuredErrors(t *testing.T) {
	doc, _ := NewDocument(ldScript(`{"a": "`+strings.Repeat("x", 200)+`"}`), Limits{})
	_, err := NewCSS(nil, Limits{}).Structured(context.Background(), doc, StructuredSpec{Syntaxes: []string{"dublincore"}})
	var se *SpecError
	if !errors.As(err, &se) || se.Field != "syntaxes" {
		t.Errorf("unknown syntax: error = %v, want a *SpecError on syntaxes", err)
	}
	_, err = NewCSS(nil, Limits{MaxResultBytes: 100}).Structured(context.Background(), doc, StructuredSpec{})
	if !errors.Is(err, ErrResultTooLarge) {
		t.Errorf("error = %v, want ErrResultTooLarge", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big, _ := NewDocument(strings.Repeat("<p>x</p>", 5000), Limits{})
	if _, err := NewCSS(nil, Limits{}).Structured(ctx, big, StructuredSpec{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error = %v, want context.Canceled", err)
	}
}

// FuzzStructured feeds JSON-LD blocks and microdata markup: Structured
// must answer (or refuse with an error value) and its answer must be
// JSON.
func FuzzStructured(f *testing.F) {
	for _, s := range []string{`{"a": 1}`, `[{"@graph": [1, {"b": []}]}]`, "{\"a\": \"\x01\"}", `<!--`, `{"a": 1e999}`,
		`<div itemscope itemref="x"><p id=x itemprop=a itemscope itemref=x>`, `<div itemscope><a itemprop=u href="http://[">`} {
		f.Add(s)
	}
	c := NewCSS(nil, Limits{})
	f.Fuzz(func(t *testing.T, s string) {
		page := ldScript(s) + s
		doc, err := NewDocument(page, Limits{})
		if err != nil {
			return
		}
		doc.SetURL("https://e.org/")
		for _, flatten := range []bool{false, true} {
			ans, err := c.Structured(context.Background(), doc, StructuredSpec{FlattenGraph: flatten})
			if err != nil {
				if errors.Is(err, ErrUnparsable) || errors.Is(err, ErrResultTooLarge) {
					return
				}
				t.Fatalf("Structured: %v", err)
			}
			if _, err := json.Marshal(ans.Data); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
		}
	})
}
