package quality

import (
	"math"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/article"
)

func TestScoreEval(t *testing.T) {
	c := EvalCase{
		Page:    "p.html",
		With:    []string{"first  part", "missing part"},
		Without: []string{"Share this", "Cookie notice"},
		Date:    "2020-03-04",
		Authors: []string{"Ada Lovelace", "Charles Babbage"},
	}
	tests := []struct {
		name           string
		res            article.Result
		tp, fn, fp, tn int
		date, author   bool
	}{
		{
			name: "all good",
			res: article.Result{Text: "the first\npart and more", PublishedTime: "2020-03-04T10:00:00Z",
				Authors: []string{"ada lovelace", "Charles  Babbage"}},
			tp: 1, fn: 1, tn: 2, date: true, author: true,
		},
		{
			name: "boilerplate kept, wrong date, one author of two is found",
			res:  article.Result{Text: "Share this first part", PublishedTime: "2020-03-05T00:00:00Z", Byline: "Ada Lovelace"},
			tp:   1, fn: 1, fp: 1, tn: 1, author: true,
		},
		{
			name: "a first name alone is not the author",
			res:  article.Result{Authors: []string{"Ada"}},
			fn:   2, tn: 2,
		},
		{
			name: "an author inside a paragraph is not a list",
			res: article.Result{Byline: "Ada Lovelace and Charles Babbage wrote this long paragraph about engines and numbers and more",
				Authors: []string{strings.Repeat("Ada Lovelace and Charles Babbage ", 5)}},
			fn: 2, tn: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ScoreEval(c, &tt.res)
			if s.TP != tt.tp || s.FN != tt.fn || s.FP != tt.fp || s.TN != tt.tn {
				t.Errorf("TP FN FP TN = %d %d %d %d, want %d %d %d %d", s.TP, s.FN, s.FP, s.TN, tt.tp, tt.fn, tt.fp, tt.tn)
			}
			if s.DateOK != tt.date || s.AuthorOK != tt.author {
				t.Errorf("date %v author %v, want %v %v", s.DateOK, s.AuthorOK, tt.date, tt.author)
			}
		})
	}
}

func TestSummarizeEvalCheck(t *testing.T) {
	s := SummarizeEval([]EvalScore{
		{TP: 3, FN: 1, FP: 1, TN: 3, HasDate: true, DateOK: true, HasAuthor: true},
		{TP: 1, FN: 1, FP: 0, TN: 2, HasDate: true, GotDate: "2001-01-01"},
	})
	if s.Precision != 0.8 || math.Abs(s.Recall-4.0/6) > 1e-9 {
		t.Errorf("P %v R %v, want 0.8 0.667", s.Precision, s.Recall)
	}
	if s.DateOK != 1 || s.DateHave != 2 || s.DateMissed != 0 || s.AuthorHave != 1 || s.AuthorMissed != 1 {
		t.Errorf("dates %d/%d missed %d, authors %d missed %d", s.DateOK, s.DateHave, s.DateMissed, s.AuthorHave, s.AuthorMissed)
	}
	if err := s.Check(EvalTargets{MinF: 0.7, MinPrecision: 0.8}); err != nil {
		t.Errorf("Check: %v", err)
	}
	err := s.Check(EvalTargets{MinF: 0.8, MinDate: 0.9})
	if err == nil || !strings.Contains(err.Error(), "F-score") || !strings.Contains(err.Error(), "publication date") {
		t.Errorf("Check = %v, want F-score and date misses", err)
	}
}

func TestClassOf(t *testing.T) {
	page := `<html><body>
<nav><ul><li>Home</li></ul></nav>
<article><h1>The title</h1><p>Body <b>te</b>xt here.</p>
<figure><img src=x><figcaption>Photo: someone</figcaption></figure>
<div class="share-bar">Share on</div></article>
<div id="comments"><p>Nice post</p></div>
<script>var hidden = "in a script";</script>
</body></html>`
	cl, err := NewClassifier(page)
	if err != nil {
		t.Fatal(err)
	}
	for snippet, want := range map[string]string{
		"Home":        "navigation/header",
		"The title":   "heading",
		"Body text":   ClassOther,
		"Photo:":      "caption/credit",
		"Share on":    "share/social",
		"Nice post":   "comments",
		"in a script": ClassAbsent,
	} {
		if got := cl.ClassOf(snippet); got != want {
			t.Errorf("ClassOf(%q) = %q, want %q", snippet, got, want)
		}
	}
}

func TestAuthorsFound(t *testing.T) {
	tests := []struct {
		want, got []string
		found     bool
	}{
		{[]string{"Ann Li"}, []string{"ann  li"}, true},
		{[]string{"Ann Li, Bo Wu"}, []string{"Ann Li"}, true},
		{[]string{"Von Ann Lindqvist und Bo Wuttke"}, []string{"Ann Lindqvist", "Bo Wuttke"}, true},
		{[]string{"Ann Lindqvist und Bo Wuttke"}, []string{"Ann Lindqvist", "Cy Xu"}, false},
		{[]string{"Ann Lindqvist, Bo Wuttke, Cy Xu and Di Yarrow"}, []string{"Ann Lindqvist"}, false},
		{[]string{"Henry Steinhau"}, []string{"Henry"}, false},
		{[]string{"Ann Lindqvist and Bo Wuttke"}, []string{"Ann", "Bo"}, false},
	}
	for _, tt := range tests {
		if got := authorsFound(tt.want, tt.got); got != tt.found {
			t.Errorf("authorsFound(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.found)
		}
	}
}
