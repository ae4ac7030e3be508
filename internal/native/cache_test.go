package native

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestSelectorCacheLRU(t *testing.T) {
	c := NewSelectorCache(2)
	compile := func(sel string) {
		t.Helper()
		if _, err := c.Compile(sel); err != nil {
			t.Fatalf("Compile(%q): %v", sel, err)
		}
	}
	steps := []struct {
		sel                  string
		wantHits, wantMisses uint64
		wantLen              int
	}{
		{"a", 0, 1, 1},
		{"a", 1, 1, 1},
		{"b", 1, 2, 2},
		{"a", 2, 2, 2}, // a is now the most recent
		{"c", 2, 3, 2}, // evicts b, the least recent
		{"a", 3, 3, 2},
		{"b", 3, 4, 2}, // b was evicted: a miss
	}
	for i, s := range steps {
		compile(s.sel)
		if c.Hits() != s.wantHits || c.Misses() != s.wantMisses || c.Len() != s.wantLen {
			t.Fatalf("step %d (%q): hits %d misses %d len %d; want %d %d %d",
				i, s.sel, c.Hits(), c.Misses(), c.Len(), s.wantHits, s.wantMisses, s.wantLen)
		}
	}
	if st := c.Stats(); st != (CacheStats{Hits: 3, Misses: 4, Len: 2, Size: 2}) {
		t.Errorf("Stats() = %+v", st)
	}
}

func TestCacheErrorsNotCached(t *testing.T) {
	sc := NewSelectorCache(4)
	pc := NewPatternCache(4)
	for range 2 {
		if _, err := sc.Compile("p["); err == nil {
			t.Fatal("bad selector compiled")
		}
		if _, err := pc.Compile("a("); err == nil {
			t.Fatal("bad pattern compiled")
		}
	}
	if sc.Len() != 0 || sc.Misses() != 2 || pc.Len() != 0 || pc.Misses() != 2 {
		t.Errorf("selector cache len %d misses %d, pattern cache len %d misses %d; want 0 2 0 2",
			sc.Len(), sc.Misses(), pc.Len(), pc.Misses())
	}
}

func TestPatternCacheLRU(t *testing.T) {
	c := NewPatternCache(3)
	for i := range 10 {
		if _, err := c.Compile(fmt.Sprintf("a{%d}", i)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 3 || c.Misses() != 10 || c.Hits() != 0 {
		t.Fatalf("len %d misses %d hits %d; want 3 10 0", c.Len(), c.Misses(), c.Hits())
	}
	re, err := c.Compile("a{9}")
	if err != nil || re.String() != "a{9}" || c.Hits() != 1 {
		t.Errorf("Compile(a{9}) = %v, %v with %d hits; want a hit", re, err, c.Hits())
	}
}

func TestCacheDefaultSize(t *testing.T) {
	if got := NewSelectorCache(0).Stats().Size; got != DefaultCacheSize {
		t.Errorf("size %d, want %d", got, DefaultCacheSize)
	}
	if got := NewPatternCache(-1).Stats().Size; got != DefaultCacheSize {
		t.Errorf("size %d, want %d", got, DefaultCacheSize)
	}
}

func TestWarm(t *testing.T) {
	sc := NewSelectorCache(8)
	err := sc.Warm([]string{"title", "a[href]", "p[", "", "title"})
	var se *SpecError
	if !errors.As(err, &se) || se.Field != "selector" || se.Value != "p[" {
		t.Fatalf("Warm: err = %v, want the *SpecError of p[ first", err)
	}
	if sc.Len() != 2 || sc.Misses() != 0 || sc.Hits() != 0 {
		t.Fatalf("after Warm: len %d misses %d hits %d; want 2 0 0", sc.Len(), sc.Misses(), sc.Hits())
	}
	css := NewCSS(sc, Limits{})
	if _, _, err := css.Select(context.Background(), mustDoc(t, "<title>t</title>"), CSSSpec{Selector: "title"}); err != nil {
		t.Fatal(err)
	}
	if sc.Hits() != 1 || sc.Misses() != 0 {
		t.Errorf("warmed selector: hits %d misses %d; want 1 0", sc.Hits(), sc.Misses())
	}

	pc := NewPatternCache(8)
	if err := pc.Warm([]string{`\d+`, `(?P<x>y)`}); err != nil {
		t.Fatal(err)
	}
	if err := pc.Warm([]string{`(`}); !errors.As(err, &se) || se.Field != "pattern" {
		t.Errorf("Warm(bad): err = %v, want a *SpecError", err)
	}
	if pc.Len() != 2 {
		t.Errorf("len %d, want 2", pc.Len())
	}
}

// TestViewCountsHits checks that an extractor's private view answers
// repeated lookups and still counts them as hits of the shared cache.
func TestViewCountsHits(t *testing.T) {
	sc := NewSelectorCache(8)
	css := NewCSS(sc, Limits{})
	doc := mustDoc(t, "<p>x</p>")
	for range 5 {
		if _, _, err := css.Select(context.Background(), doc, CSSSpec{Selector: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	if sc.Hits() != 4 || sc.Misses() != 1 {
		t.Errorf("hits %d misses %d; want 4 1", sc.Hits(), sc.Misses())
	}
	// More selectors than the view holds still resolve correctly.
	for i := range 2 * viewSize {
		sel := fmt.Sprintf("p:nth-child(%d)", i+1)
		got, _, err := css.Select(context.Background(), doc, CSSSpec{Selector: sel})
		if err != nil {
			t.Fatal(err)
		}
		if want := i == 0; (len(got) == 1) != want {
			t.Errorf("%s: got %q", sel, got)
		}
	}
}

// TestXPathCacheCountsCalls checks that each XPath call, whichever path
// answers it (the token stream, the CSS fallback or the tree), looks its
// expression up exactly once: the cache's hits and misses count calls.
func TestXPathCacheCountsCalls(t *testing.T) {
	page := "<title>t</title><ul><li>one</li><li>two</li><li>three</li></ul><a href=/x>x</a>"
	tests := []struct {
		name, expr string
		attr       string
	}{
		{"stream", "count(//li)", ""},
		{"stream attribute", "//a/@href", ""},
		{"css fallback", "//li", "class"},
		{"tree", "//li[position() > 1]", ""},
		{"tree scalar", "string(//li[2])", ""},
		{"tree attribute", "//ul/li", "class"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := NewSelectorCache(8)
			css := NewCSS(sc, Limits{})
			const calls = 5
			for range calls {
				// A fresh document each time: a parsed one would let later
				// calls skip the stream.
				doc := mustDoc(t, page)
				if _, err := css.XPath(context.Background(), doc, XPathSpec{Expression: tt.expr, Attribute: tt.attr, All: true}); err != nil {
					t.Fatal(err)
				}
			}
			if st := sc.XPath().Stats(); st.Hits != calls-1 || st.Misses != 1 || st.Len != 1 {
				t.Errorf("xpath cache %+v after %d calls; want %d hits, 1 miss, 1 entry", st, calls, calls-1)
			}
		})
	}
}

func TestXPathWarm(t *testing.T) {
	sc := NewSelectorCache(8)
	err := sc.XPath().Warm([]string{"//a/@href", "count(//p)", "//p[", "//a/@href"})
	var se *SpecError
	if !errors.As(err, &se) || se.Field != "expression" || se.Value != "//p[" {
		t.Fatalf("Warm: err = %v, want the *SpecError of //p[", err)
	}
	if st := sc.XPath().Stats(); st.Len != 2 || st.Hits != 0 || st.Misses != 0 {
		t.Fatalf("after Warm: %+v; want 2 entries, no hits or misses", st)
	}
	css := NewCSS(sc, Limits{})
	if _, err := css.XPath(context.Background(), mustDoc(t, "<p>x</p>"), XPathSpec{Expression: "count(//p)"}); err != nil {
		t.Fatal(err)
	}
	if st := sc.XPath().Stats(); st.Hits != 1 || st.Misses != 0 {
		t.Errorf("warmed expression: %+v; want 1 hit, 0 misses", st)
	}
}
