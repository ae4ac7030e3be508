package client_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/client"
)

// TestScraperQuestions asks what a Scrapy user brings (issue 18) through
// the library: parsel selectors pasted as they are, links made absolute
// in a field with the unresolved ones counted, and a structured answer
// cut at the daemon's bound, on a lease too.
func TestScraperQuestions(t *testing.T) {
	c := dial(t, startDaemon(t).addr)
	ctx := context.Background()
	const page = `<html><head><base href="/docs/"></head><body><h1>Tides <b>today</b></h1>` +
		`<a href="north">North</a><a href="http://a b/">Bad</a><img srcset="s.png 1x, /l.png 2x"></body></html>`
	doc := client.HTML(page, "https://example.com/tides/")

	tests := []struct {
		name       string
		q          client.CSS
		want       []string
		unresolved int
	}{
		{"::text", client.CSS{Selector: "h1::text", All: true}, []string{"Tides "}, 0},
		{" ::text", client.CSS{Selector: "h1 ::text", All: true}, []string{"Tides ", "today"}, 0},
		{"::attr as written", client.CSS{Selector: "a::attr(href)", All: true}, []string{"north", "http://a b/"}, 0},
		{"::attr absolute", client.CSS{Selector: "a::attr(href)", All: true, AbsoluteURLs: true},
			[]string{"https://example.com/docs/north", "http://a b/"}, 1},
		{"srcset absolute", client.CSS{Selector: "img::attr(srcset)", AbsoluteURLs: true},
			[]string{"https://example.com/docs/s.png 1x, https://example.com/l.png 2x"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := c.CSS(ctx, doc, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v.Values, tt.want) || v.UnresolvedURLs != tt.unresolved {
				t.Errorf("CSS(%q) = %q (%d unresolved), want %q (%d)", tt.q.Selector, v.Values, v.UnresolvedURLs, tt.want, tt.unresolved)
			}
		})
	}

	f, err := c.Fields(ctx, doc, map[string]client.Field{
		"css":   {CSS: &client.CSS{Selector: "a::attr(href)", All: true, AbsoluteURLs: true}},
		"xpath": {XPath: &client.XPath{Expression: "//a/@href", All: true, AbsoluteURLs: true}},
		"plain": {XPath: &client.XPath{Expression: "//a/@href", All: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		values     []string
		unresolved int
	}{
		"css":   {[]string{"https://example.com/docs/north", "http://a b/"}, 1},
		"xpath": {[]string{"https://example.com/docs/north", "http://a b/"}, 1},
		"plain": {[]string{"north", "http://a b/"}, 0},
	} {
		if got := f.Fields[name]; !slices.Equal(got.Values, want.values) || got.UnresolvedURLs != want.unresolved {
			t.Errorf("field %s = %q (%d unresolved), want %q (%d)", name, got.Values, got.UnresolvedURLs, want.values, want.unresolved)
		}
	}

	// More <meta> pairs than max_structured_items: the answer is cut and
	// says so.
	max := int(c.Limits().GetMaxStructuredItems())
	if max == 0 {
		t.Fatal("no max_structured_items in the daemon's limits")
	}
	metas := client.HTML("<head>"+strings.Repeat(`<meta name="k" content="v">`, max+1)+"</head>", "")
	small := client.HTML(`<head><meta name="k" content="v"></head>`, "")
	l, err := c.Lease(ctx, "css", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct {
		name      string
		call      func(context.Context, client.Document, client.Structured) (*client.Result, error)
		doc       client.Document
		n         int
		truncated bool
	}{
		{"client, cut", c.Structured, metas, max, true},
		{"client, whole", c.Structured, small, 1, false},
		{"lease, cut", l.Structured, metas, max, true},
	} {
		r, err := tc.call(ctx, tc.doc, client.Structured{Syntaxes: []string{"meta"}})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, _ := r.Result["meta"].([]any)
		if len(got) != tc.n || r.Truncated != tc.truncated {
			t.Errorf("%s: %d meta pairs (truncated %v), want %d (%v)", tc.name, len(got), r.Truncated, tc.n, tc.truncated)
		}
		if strings.HasPrefix(tc.name, "lease") && r.InstanceID != l.InstanceID {
			t.Errorf("%s: served by %q, want the leased %q", tc.name, r.InstanceID, l.InstanceID)
		}
	}
}
