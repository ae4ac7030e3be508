package quality

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/article"
)

func TestF1(t *testing.T) {
	tests := []struct {
		got, want string
		f1        float64
	}{
		{"", "", 1},
		{"a b", "", 0},
		{"", "a b", 0},
		{"The cat sat.", "the  CAT, sat", 1},
		{"a b c d", "a b", 2 * 0.5 * 1 / 1.5},     // precision 1/2, recall 1
		{"a a a", "a", 2 * (1.0 / 3) / (4.0 / 3)}, // counts matter
		{"x y", "a b", 0},
		{"été 2024", "Été, 2024!", 1},
	}
	for _, tt := range tests {
		if got := F1(tt.got, tt.want); math.Abs(got-tt.f1) > 1e-9 {
			t.Errorf("F1(%q, %q) = %v, want %v", tt.got, tt.want, got, tt.f1)
		}
	}
}

func TestSummarizeAndCheck(t *testing.T) {
	all := func(ok bool) map[string]bool {
		m := map[string]bool{}
		for _, f := range Fields {
			m[f] = ok
		}
		return m
	}
	good := PageScore{Match: all(true), F1: 1}
	bad := PageScore{Match: all(false), F1: 0.5}

	s := Summarize([]PageScore{good, good, bad})
	if s.Pages != 3 || math.Abs(s.Share["title"]-2.0/3) > 1e-9 || s.MedianF1 != 1 || s.MinF1 != 0.5 {
		t.Errorf("Summarize = %+v", s)
	}
	err := s.Check()
	if err == nil || !strings.Contains(err.Error(), "title") || strings.Contains(err.Error(), "dir") || strings.Contains(err.Error(), "F1") {
		t.Errorf("Check = %v: want the five targeted fields, not dir or F1", err)
	}

	var many []PageScore
	for range 20 {
		many = append(many, good)
	}
	if err := Summarize(append(many, bad)).Check(); err != nil {
		t.Errorf("Check with 20 of 21 pages right = %v, want nil", err)
	}
	if err := Summarize([]PageScore{good, bad}).Check(); err == nil || !strings.Contains(err.Error(), "F1") {
		t.Errorf("median of 1 and 0.5 passes: %v", err)
	}
	if !strings.Contains(s.String(), "median text F1") {
		t.Errorf("table lacks the median:\n%s", s)
	}
}

func TestScore(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("source.html", "<p>x</p>")
	write("expected.html", `<div><p>Hello  world</p></div>`)
	write("expected-metadata.json", `{"title":"T  x","byline":null,"excerpt":"E","lang":"en","siteName":null,"dir":null}`)

	ps, err := Score(dir, &article.Result{Title: "T x", Description: " E ", Lang: "fr", Text: "hello world"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"title": true, "byline": true, "excerpt": true, "lang": false, "site_name": true, "dir": true}
	for f, ok := range want {
		if ps.Match[f] != ok {
			t.Errorf("%s match = %v, want %v", f, ps.Match[f], ok)
		}
	}
	if ps.F1 != 1 {
		t.Errorf("F1 = %v, want 1", ps.F1)
	}
	if pages, err := Pages(filepath.Dir(dir)); err != nil || len(pages) != 1 {
		t.Errorf("Pages = %v, %v", pages, err)
	}
	if _, err := Score(t.TempDir(), &article.Result{}); err == nil {
		t.Error("Score of an empty folder succeeded")
	}
}
