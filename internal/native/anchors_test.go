package native

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"golang.org/x/net/html"
)

// anchors are the reference answers of lxml, parsel, w3lib and extruct on
// every UTF-8 page of ../shared/corpus, made by
// testdata/anchors/make_anchors.py (its doc comment says how). Each answer
// is a count and a hash of the values, so that the pages stay out of the
// repository.
type anchors struct {
	XPathExpressions []string              `json:"xpath_expressions"`
	PseudoQueries    []string              `json:"pseudo_queries"`
	URLQueries       []string              `json:"url_queries"`
	Pages            map[string]anchorPage `json:"pages"`
	Versions         map[string]string     `json:"versions"`
}

type anchorPage struct {
	XPath      []anchorAnswer          `json:"xpath"`
	Pseudo     []anchorAnswer          `json:"pseudo"`
	URLs       []anchorAnswer          `json:"urls"`
	Structured map[string]anchorAnswer `json:"structured"`
}

// anchorAnswer is [count, hash].
type anchorAnswer [2]any

func (a anchorAnswer) count() int   { f, _ := a[0].(float64); return int(f) }
func (a anchorAnswer) hash() string { s, _ := a[1].(string); return s }

// answerOf is the anchor's form of values.
func answerOf(values []string) anchorAnswer {
	sum := sha256.Sum256([]byte(strings.Join(values, "\x1f")))
	return anchorAnswer{float64(len(values)), hex.EncodeToString(sum[:])[:12]}
}

func (a anchorAnswer) equal(b anchorAnswer) bool {
	return a.count() == b.count() && a.hash() == b.hash()
}

// corpusPage is one page of either corpus set with its URL.
type corpusPage struct {
	name, url, src string
}

// loadAnchors reads the anchors and the pages they were made from, or
// skips t when the corpus is absent.
func loadAnchors(t *testing.T) (*anchors, []corpusPage) {
	t.Helper()
	root := os.Getenv(testenv.CorpusEnv)
	if root != "" {
		root = filepath.Dir(root) // the readability set's parent
	} else {
		root = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	b, err := os.ReadFile(filepath.Join("testdata", "anchors", "anchors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a anchors
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "trafilatura-eval", "expectations.json")); err != nil {
		t.Skipf("no corpus at %s (readability/ and trafilatura-eval/); set %s to its readability set", root, testenv.CorpusEnv)
	}
	urls := map[string]string{}
	eb, err := os.ReadFile(filepath.Join(root, "trafilatura-eval", "expectations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp []struct{ URL, Page string }
	if err := json.Unmarshal(eb, &exp); err != nil {
		t.Fatal(err)
	}
	for _, e := range exp {
		urls["trafilatura-eval/"+e.Page] = e.URL
	}
	var pages []corpusPage
	names := slices.Sorted(maps.Keys(a.Pages))
	for i, name := range names {
		if raceEnabled && i%10 != 0 {
			continue
		}
		path := filepath.Join(root, name, "source.html")
		url := "http://fakehost/test/page.html"
		if strings.HasPrefix(name, "trafilatura-eval/") {
			path, url = filepath.Join(root, name), urls[name]
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(src) {
			t.Fatalf("%s: not UTF-8, but the anchors have it", name)
		}
		pages = append(pages, corpusPage{name: name, url: url, src: strings.TrimPrefix(string(src), "\uFEFF")})
	}
	if len(names) < 800 {
		t.Fatalf("anchors for %d pages, want the whole corpus", len(pages))
	}
	return &a, pages
}

// scriptlessDocument is p parsed with scripting disabled, as html5lib
// parses for the anchors, so that <noscript> holds markup on both sides.
func scriptlessDocument(t *testing.T, p corpusPage) *Document {
	t.Helper()
	root, err := html.ParseWithOptions(strings.NewReader(p.src), html.ParseOptionEnableScripting(false))
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	doc := &Document{src: p.src, root: root}
	doc.parseOnce.Do(func() {})
	doc.tree.Store(true)
	return doc
}

// explained lists, per question, how many pages may differ from the
// anchor and why.
type explained map[string]struct {
	pages int
	why   string
}

// checkExplained fails for each question that differs from its anchor on
// more pages than explained.
func checkExplained(t *testing.T, anchor string, questions []string, mismatches map[string][]string, ex explained, total int) {
	t.Helper()
	for _, q := range questions {
		bad := mismatches[q]
		allowed, why := ex[q].pages, ex[q].why
		if len(bad) > allowed {
			t.Errorf("%q differs from %s on %d of %d pages (%d explained: %s), e.g. %q", q, anchor, len(bad), total, allowed, why, bad[:min(len(bad), 5)])
		} else if len(bad) > 0 {
			t.Logf("%q differs from %s on %d pages, as explained: %s", q, anchor, len(bad), why)
		}
	}
}
