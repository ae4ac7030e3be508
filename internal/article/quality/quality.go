// Package quality scores the article module's output against Mozilla
// Readability.js' expected results on the readability test corpus
// (../shared/corpus/readability): one folder per page, with source.html,
// expected.html (the main content) and expected-metadata.json.
//
// It is kept apart from package article so that the WASM guest does not
// carry it, while the native tests and the WASM host's tests run the very
// same check and can compare their scores.
package quality

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"codeberg.org/readeck/go-readability/v2/render"
	"github.com/riptidecrawler/riptide-poold/internal/article"
	"golang.org/x/net/html"
)

// PageURL is the address Readability.js' own tests give every page.
const PageURL = "http://fakehost/test/page.html"

// The targets: every metadata field right on at least MinFieldShare of the
// pages, and a median text F1 of at least MinMedianF1.
const (
	MinFieldShare = 0.95
	MinMedianF1   = 0.99
)

// Fields are the compared metadata fields, in table order. The first five
// are held to MinFieldShare; Dir is reported only.
var Fields = []string{"title", "byline", "excerpt", "lang", "site_name", "dir"}

// targeted is how many of Fields are held to MinFieldShare.
const targeted = 5

// Expected is a page's expected-metadata.json; null reads as "".
type Expected struct {
	Title         string `json:"title"`
	Byline        string `json:"byline"`
	Excerpt       string `json:"excerpt"`
	Lang          string `json:"lang"`
	SiteName      string `json:"siteName"`
	PublishedTime string `json:"publishedTime"`
	Dir           string `json:"dir"`
}

// PageScore is how one result compares with a page's expectations.
type PageScore struct {
	Page  string          // the page's folder name
	Match map[string]bool // field name (see Fields) -> equal after white space normalization
	F1    float64         // bag-of-words F1 of the result's text against expected.html's
	Want  Expected        // for reporting mismatches
	Got   Expected
}

// Pages lists the page folders of a corpus, sorted.
func Pages(corpusDir string) ([]string, error) {
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		return nil, err
	}
	var pages []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(corpusDir, e.Name(), "source.html")); err == nil {
			pages = append(pages, filepath.Join(corpusDir, e.Name()))
		}
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("quality: no page folders in %s: %w", corpusDir, fs.ErrNotExist)
	}
	return pages, nil
}

// FindCorpus returns $RIPTIDE_CORPUS_DIR if set, else the first of
// candidates that exists. It reports false when there is none, so that a
// test can skip.
func FindCorpus(candidates ...string) (string, bool) {
	if dir := os.Getenv("RIPTIDE_CORPUS_DIR"); dir != "" {
		_, err := os.Stat(dir)
		return dir, err == nil
	}
	for _, dir := range candidates {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir, true
		}
	}
	return "", false
}

// Source reads a page's source.html.
func Source(pageDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(pageDir, "source.html"))
	return string(b), err
}

// Score compares res, the article-mode result for pageDir's source.html
// (extracted with URL PageURL), with the page's expectations.
func Score(pageDir string, res *article.Result) (PageScore, error) {
	ps := PageScore{Page: filepath.Base(pageDir)}
	meta, err := os.ReadFile(filepath.Join(pageDir, "expected-metadata.json"))
	if err != nil {
		return ps, err
	}
	if err := json.Unmarshal(meta, &ps.Want); err != nil {
		return ps, fmt.Errorf("quality: %s: %w", ps.Page, err)
	}
	want, err := ExpectedText(pageDir)
	if err != nil {
		return ps, err
	}
	ps.Got = Expected{
		Title: res.Title, Byline: res.Byline, Excerpt: res.Description, Lang: res.Lang,
		SiteName: res.SiteName, PublishedTime: res.PublishedTime, Dir: res.Dir,
	}
	ps.Match = map[string]bool{
		"title":     same(ps.Want.Title, ps.Got.Title),
		"byline":    same(ps.Want.Byline, ps.Got.Byline),
		"excerpt":   same(ps.Want.Excerpt, ps.Got.Excerpt),
		"lang":      same(ps.Want.Lang, ps.Got.Lang),
		"site_name": same(ps.Want.SiteName, ps.Got.SiteName),
		"dir":       same(ps.Want.Dir, ps.Got.Dir),
	}
	ps.F1 = F1(res.Text, want)
	return ps, nil
}

// ExpectedText is the text of a page's expected.html, rendered as the
// module renders its own.
func ExpectedText(pageDir string) (string, error) {
	f, err := os.Open(filepath.Join(pageDir, "expected.html"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		return "", fmt.Errorf("quality: parsing %s: %w", f.Name(), err)
	}
	return render.InnerText(doc), nil
}

func same(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

// F1 is the bag-of-words F1 score of got against want: words are runs of
// letters and digits, compared case-insensitively, each counted as often
// as it occurs. Two empty texts score 1.
func F1(got, want string) float64 {
	g, w := bag(got), bag(want)
	var ng, nw, common int
	for word, k := range w {
		nw += k
		common += min(k, g[word])
	}
	for _, k := range g {
		ng += k
	}
	switch {
	case ng == 0 && nw == 0:
		return 1
	case common == 0:
		return 0
	}
	precision := float64(common) / float64(ng)
	recall := float64(common) / float64(nw)
	return 2 * precision * recall / (precision + recall)
}

func bag(s string) map[string]int {
	words := make(map[string]int)
	for w := range strings.FieldsFuncSeq(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		words[w]++
	}
	return words
}

// Summary aggregates page scores.
type Summary struct {
	Pages    int
	Share    map[string]float64 // field -> share of pages matching, 0-1
	MedianF1 float64
	MeanF1   float64
	MinF1    float64
}

// Summarize aggregates scores.
func Summarize(scores []PageScore) Summary {
	s := Summary{Pages: len(scores), Share: make(map[string]float64, len(Fields))}
	if len(scores) == 0 {
		return s
	}
	f1 := make([]float64, len(scores))
	for i, ps := range scores {
		f1[i] = ps.F1
		s.MeanF1 += ps.F1 / float64(len(scores))
		for _, f := range Fields {
			if ps.Match[f] {
				s.Share[f] += 1 / float64(len(scores))
			}
		}
	}
	slices.Sort(f1)
	s.MinF1 = f1[0]
	if n := len(f1); n%2 == 1 {
		s.MedianF1 = f1[n/2]
	} else {
		s.MedianF1 = (f1[n/2-1] + f1[n/2]) / 2
	}
	return s
}

// Check returns an error naming each target s misses.
func (s Summary) Check() error {
	var errs []error
	for _, f := range Fields[:targeted] {
		if s.Share[f] < MinFieldShare {
			errs = append(errs, fmt.Errorf("%s matches on %.1f%% of pages, target %.0f%%", f, 100*s.Share[f], 100*MinFieldShare))
		}
	}
	if s.MedianF1 < MinMedianF1 {
		errs = append(errs, fmt.Errorf("median text F1 %.4f, target %.2f", s.MedianF1, MinMedianF1))
	}
	return errors.Join(errs...)
}

// String formats s as a table.
func (s Summary) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-16s %8s %8s\n", "measure", "score", "target")
	for i, f := range Fields {
		target := "-"
		if i < targeted {
			target = fmt.Sprintf("%.0f%%", 100*MinFieldShare)
		}
		fmt.Fprintf(&sb, "%-16s %7.1f%% %8s\n", f, 100*s.Share[f], target)
	}
	fmt.Fprintf(&sb, "%-16s %8.4f %8.2f\n", "median text F1", s.MedianF1, MinMedianF1)
	fmt.Fprintf(&sb, "%-16s %8.4f %8s\n", "mean text F1", s.MeanF1, "-")
	fmt.Fprintf(&sb, "%-16s %8.4f %8s\n", "min text F1", s.MinF1, "-")
	fmt.Fprintf(&sb, "%-16s %8d\n", "pages", s.Pages)
	return sb.String()
}
