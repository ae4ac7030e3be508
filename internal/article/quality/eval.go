package quality

// This file scores the article module on the trafilatura evaluation set
// (../shared/corpus/trafilatura-eval): real pages with snippets the main
// text must and must not contain, and metadata expectations. The scoring
// rule is the set's own (its README): over all pages, a "with" snippet
// found is a true positive, one missing a false negative; a "without"
// snippet found is a false positive, one absent a true negative; snippets
// are compared after collapsing white space.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/native"
)

// EvalCase is one page of the evaluation set and what is expected of it.
type EvalCase struct {
	URL         string   `json:"url"`
	Page        string   `json:"page"` // relative to the set's folder
	With        []string `json:"with"`
	Without     []string `json:"without"`
	Title       string   `json:"title"`
	Authors     []string `json:"author"`
	Date        string   `json:"date"` // YYYY-MM-DD
	SiteName    string   `json:"sitename"`
	Description string   `json:"description"`
	Categories  []string `json:"categories"`
	Tags        []string `json:"tags"`
}

// FindEvalSet returns the trafilatura evaluation set's folder:
// $RIPTIDE_EVAL_DIR if set, else trafilatura-eval beside the readability
// corpus of $RIPTIDE_CORPUS_DIR, else the first of candidates that holds
// expectations.json. It reports false when there is none, so that a test
// can skip.
func FindEvalSet(candidates ...string) (string, bool) {
	if dir := os.Getenv("RIPTIDE_EVAL_DIR"); dir != "" {
		candidates = []string{dir}
	} else if rd := os.Getenv("RIPTIDE_CORPUS_DIR"); rd != "" {
		candidates = append([]string{filepath.Join(filepath.Dir(rd), "trafilatura-eval")}, candidates...)
	}
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "expectations.json")); err == nil {
			return dir, true
		}
	}
	return "", false
}

// LoadEval reads the evaluation set's expectations.json in dir.
func LoadEval(dir string) ([]EvalCase, error) {
	b, err := os.ReadFile(filepath.Join(dir, "expectations.json"))
	if err != nil {
		return nil, err
	}
	var cases []EvalCase
	if err := json.Unmarshal(b, &cases); err != nil {
		return nil, fmt.Errorf("quality: %s: %w", dir, err)
	}
	return cases, nil
}

// ReadEvalPage reads c's page from the set in dir as UTF-8, decoded the way
// the daemon decodes raw_html without a content type (a byte order mark,
// else a <meta> charset declaration, else UTF-8).
func ReadEvalPage(dir string, c EvalCase) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, c.Page))
	if err != nil {
		return "", err
	}
	doc, err := native.DecodeDocument(raw, "", native.Limits{MaxDocumentBytes: 4 * len(raw)})
	if err != nil {
		return "", fmt.Errorf("quality: %s: %w", c.Page, err)
	}
	return doc.Source(), nil
}

// EvalScore is how one result compares with its case.
type EvalScore struct {
	Page string

	TP, FN, FP, TN int
	Lost           []string // "with" snippets missing from the text
	Kept           []string // "without" snippets found in the text

	HasDate, DateOK bool
	GotDate         string

	HasAuthor, AuthorOK bool
	GotAuthors          []string
}

// ScoreEval compares res with c.
func ScoreEval(c EvalCase, res *article.Result) EvalScore {
	s := EvalScore{Page: c.Page}
	text := collapse(res.Text)
	for _, w := range c.With {
		if strings.Contains(text, collapse(w)) {
			s.TP++
		} else {
			s.FN++
			s.Lost = append(s.Lost, w)
		}
	}
	for _, w := range c.Without {
		if strings.Contains(text, collapse(w)) {
			s.FP++
			s.Kept = append(s.Kept, w)
		} else {
			s.TN++
		}
	}
	if c.Date != "" {
		s.HasDate = true
		s.GotDate, _, _ = strings.Cut(res.PublishedTime, "T")
		s.DateOK = s.GotDate == c.Date
	}
	if len(c.Authors) > 0 {
		s.HasAuthor = true
		s.GotAuthors = resultAuthors(res)
		s.AuthorOK = authorsFound(c.Authors, s.GotAuthors)
	}
	return s
}

// resultAuthors is the result's author list, or its byline when it has
// no list.
func resultAuthors(res *article.Result) []string {
	if len(res.Authors) > 0 {
		return res.Authors
	}
	if res.Byline != "" {
		return []string{res.Byline}
	}
	return nil
}

// authorsFound reports whether one of the expected authors is named by
// one of got, ignoring case and punctuation: each holds the other, and the
// shorter is at least half the longer, so that "Rudolf Fischer" names
// "Rudolf Fischer, Simon Kohler" while "Henry" does not name "Henry
// Steinhau", nor a paragraph that mentions it the author. An expected
// entry that names several people in one string ("Ann Li and Bo Wu") is
// also named by the whole list when every word of the list is one of its
// words and the list is at least half as long.
func authorsFound(want, got []string) bool {
	all := nameKey(strings.Join(got, " "))
	for _, w := range want {
		w = nameKey(w)
		for _, g := range got {
			g = nameKey(g)
			short, long := g, w
			if len(short) > len(long) {
				short, long = long, short
			}
			if short != "" && 2*len(short) >= len(long) && strings.Contains(long, short) {
				return true
			}
		}
		if len(got) > 1 && 2*len(all) >= len(w) && wordsIn(all, w) {
			return true
		}
	}
	return false
}

// wordsIn reports whether every word of a is a word of b.
func wordsIn(a, b string) bool {
	words := strings.Fields(b)
	for _, x := range strings.Fields(a) {
		if !slices.Contains(words, x) {
			return false
		}
	}
	return true
}

// nameKey is s lower-cased, its letters and digits only, words separated
// by one space.
func nameKey(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// EvalSummary aggregates EvalScores.
type EvalSummary struct {
	Pages                        int
	TP, FN, FP, TN               int
	Precision, Recall, F, Accur  float64
	DateHave, DateOK, DateMissed int // DateMissed: no date found at all
	AuthorHave, AuthorOK         int
	AuthorMissed                 int // no author found at all
}

// SummarizeEval sums scores into the set's figures.
func SummarizeEval(scores []EvalScore) EvalSummary {
	var s EvalSummary
	s.Pages = len(scores)
	for _, e := range scores {
		s.TP += e.TP
		s.FN += e.FN
		s.FP += e.FP
		s.TN += e.TN
		if e.HasDate {
			s.DateHave++
			if e.DateOK {
				s.DateOK++
			} else if e.GotDate == "" {
				s.DateMissed++
			}
		}
		if e.HasAuthor {
			s.AuthorHave++
			if e.AuthorOK {
				s.AuthorOK++
			} else if len(e.GotAuthors) == 0 {
				s.AuthorMissed++
			}
		}
	}
	s.Precision = ratio(s.TP, s.TP+s.FP)
	s.Recall = ratio(s.TP, s.TP+s.FN)
	if s.Precision+s.Recall > 0 {
		s.F = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	s.Accur = ratio(s.TP+s.TN, s.TP+s.TN+s.FP+s.FN)
	return s
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// DateShare and AuthorShare are the shares of pages with an expected date
// (author) whose date is exact (whose authors are all found).
func (s EvalSummary) DateShare() float64   { return ratio(s.DateOK, s.DateHave) }
func (s EvalSummary) AuthorShare() float64 { return ratio(s.AuthorOK, s.AuthorHave) }

// EvalTargets are the figures a summary is held to.
type EvalTargets struct {
	MinF, MinPrecision, MinRecall float64
	MinDate, MinAuthor            float64 // shares, 0-1
}

// Check returns an error naming each target s misses.
func (s EvalSummary) Check(t EvalTargets) error {
	var miss []string
	for _, m := range []struct {
		name      string
		got, want float64
	}{
		{"F-score", s.F, t.MinF},
		{"precision", s.Precision, t.MinPrecision},
		{"recall", s.Recall, t.MinRecall},
		{"publication date exact", s.DateShare(), t.MinDate},
		{"authors found", s.AuthorShare(), t.MinAuthor},
	} {
		if m.got < m.want {
			miss = append(miss, fmt.Sprintf("%s %.3f, want at least %.3f", m.name, m.got, m.want))
		}
	}
	if len(miss) == 0 {
		return nil
	}
	return fmt.Errorf("quality: %s", strings.Join(miss, "; "))
}

// String formats s as a markdown table row set.
func (s EvalSummary) String() string {
	return fmt.Sprintf("pages %d  P %.3f  R %.3f  F %.3f  accuracy %.3f  (TP %d FN %d FP %d TN %d)  date exact %d/%d (%.1f%%, %d none)  authors %d/%d (%.1f%%, %d none)",
		s.Pages, s.Precision, s.Recall, s.F, s.Accur, s.TP, s.FN, s.FP, s.TN,
		s.DateOK, s.DateHave, 100*s.DateShare(), s.DateMissed,
		s.AuthorOK, s.AuthorHave, 100*s.AuthorShare(), s.AuthorMissed)
}

// Sample returns every step-th case, starting with the first: a fixed,
// spread-out subset for a fast regression check.
func Sample(cases []EvalCase, step int) []EvalCase {
	if step <= 1 {
		return slices.Clone(cases)
	}
	var out []EvalCase
	for i := 0; i < len(cases); i += step {
		out = append(out, cases[i])
	}
	return out
}
