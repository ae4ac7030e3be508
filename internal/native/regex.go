package native

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"unicode/utf8"
)

// RegexSource says which text of a document a pattern is matched against.
type RegexSource int

const (
	// SourceText, the default, is the document's visible text as returned
	// by Document.Text: no markup, no scripts, white space collapsed.
	SourceText RegexSource = iota
	// SourceHTML is the raw markup as given; it needs no parse.
	SourceHTML
)

func (s RegexSource) String() string {
	switch s {
	case SourceText:
		return "text"
	case SourceHTML:
		return "html"
	}
	return fmt.Sprintf("RegexSource(%d)", int(s))
}

// RegexSpec is one regular-expression question asked of a document.
type RegexSpec struct {
	// Pattern is in Go's RE2 syntax, which runs in time linear in the input
	// whatever the pattern: no backreferences or lookaround, and no
	// catastrophic backtracking.
	Pattern string
	// All asks for every match; otherwise only the first is returned.
	All bool
	// Limit, when positive and All is set, returns at most Limit matches.
	Limit int
	// Source is SourceText unless set.
	Source RegexSource
}

// Match is one match of a pattern.
type Match struct {
	// Value is the matched text.
	Value string
	// Start and End are byte offsets of Value in the searched text: the
	// string returned by Document.Text for SourceText, by Source for
	// SourceHTML.
	Start, End int
	// Groups holds every capture group, named or not, in the order of their
	// opening parentheses (group 1 first; the whole match is Value). A group
	// that took no part in the match, such as the untaken side of (a)|(b),
	// is "", as is one that matched the empty string. Nil when the pattern
	// has no groups.
	Groups []string
	// Named maps the name of each named group to its value, as in Groups.
	// Nil when the pattern has no named groups.
	Named map[string]string
}

// Regex extracts matches of regular expressions from documents. It is meant
// to be pooled and must not be used by two goroutines at once. It satisfies
// the pool's Poolable.
//
// A Regex owns less worth pooling than a CSS: Go's regexp keeps its own
// matching machines, so what a Regex keeps is its limits and its view of
// the shared pattern cache. It is pooled all the same so that both kinds
// share one admission control, metrics and leases.
type Regex struct {
	limits Limits
	pats   view[*pattern]
	closed atomic.Bool
}

// NewRegex returns a Regex extractor that compiles patterns through cache,
// shared with the other extractors of its pool. A nil cache gives the
// extractor a private one of DefaultCacheSize.
func NewRegex(cache *PatternCache, limits Limits) *Regex {
	if cache == nil {
		cache = NewPatternCache(0)
	}
	return &Regex{limits: limits.normalized(), pats: view[*pattern]{shared: cache.c}}
}

// Find answers spec on doc. It returns the leftmost non-overlapping matches
// in order, as regexp's FindAll does: the first only unless spec.All is
// set, at most spec.Limit when it is positive, and never more than
// Limits.MaxMatches; truncated reports that MaxMatches, not spec, cut the
// result short. Values are substrings of the searched text (no copies).
//
// The bytes counted against Limits.MaxResultBytes are those of each Value,
// its Groups, and its Named keys and values.
//
// Errors: *SpecError for an invalid spec (with a *CostError inside for a
// pattern whose work on the text could go over Limits.MaxWork),
// ErrEmptyDocument for a nil doc, ErrResultTooLarge, ErrClosed, or
// ctx.Err() when ctx is done. ctx is checked between matches, and inside
// a search whose text times program is over readerWork (see search).
func (r *Regex) Find(ctx context.Context, doc *Document, spec RegexSpec) (matches []Match, truncated bool, err error) {
	if r.closed.Load() {
		return nil, false, ErrClosed
	}
	if err := r.check(spec); err != nil {
		return nil, false, err
	}
	pat, err := r.pats.get(spec.Pattern)
	if err != nil {
		return nil, false, err
	}
	if doc == nil {
		return nil, false, ErrEmptyDocument
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s := doc.Source()
	if spec.Source == SourceText {
		if s, err = doc.Text(); err != nil {
			return nil, false, err
		}
	}

	want, look := plan(spec.All, spec.Limit, r.limits.MaxMatches)
	if work := regexWork(pat, len(s)); work > float64(r.limits.MaxWork) {
		return nil, false, &SpecError{Field: "pattern", Value: spec.Pattern,
			Err: &CostError{Limit: "MaxWork", Cost: work, Max: float64(r.limits.MaxWork)}}
	}
	b := matchBuilder{
		pat: pat, s: s, want: want, look: look,
		limit: r.limits.MaxResultBytes, budget: r.limits.MaxResultBytes,
	}
	if err := b.find(ctx); err != nil {
		return nil, false, err
	}
	return b.out, b.more, nil
}

func (r *Regex) check(spec RegexSpec) error {
	switch {
	case spec.Pattern == "":
		return &SpecError{Field: "pattern", Value: spec.Pattern, Err: ErrEmptyValue}
	case len(spec.Pattern) > r.limits.MaxPatternLen:
		return &SpecError{Field: "pattern", Value: spec.Pattern, Err: ErrTooLong}
	case spec.Limit < 0:
		return &SpecError{Field: "limit", Value: fmt.Sprint(spec.Limit), Err: fmt.Errorf("must not be negative")}
	case spec.Source != SourceText && spec.Source != SourceHTML:
		return &SpecError{Field: "source", Value: spec.Source.String(), Err: fmt.Errorf("unknown source")}
	}
	return nil
}

// regexWork bounds the steps of finding look matches of pat in n bytes of
// text: the searches, one per match, each from where the last ended, cost
// at most the program's size per byte of the text together.
func regexWork(pat *pattern, n int) float64 {
	return float64(n+1) * float64(pat.insts)
}

// readerWork is the bound on a search's work (text bytes times program
// instructions) past which find searches through a ctxReader: regexp
// offers no cancellation, and a search over megabytes with a large program
// runs for seconds. Below it, the string search is faster (it skips to a
// literal prefix, and backtracks on short texts) and ends within
// milliseconds anyway.
const readerWork = 1 << 22

// ctxCheckRunes is how many runes a ctxReader reads between context checks.
const ctxCheckRunes = 4096

// ctxReader reads s, and ends as if the text ended once ctx is done, so
// that a regexp search over it stops: the caller then checks ctx.
type ctxReader struct {
	ctx  context.Context
	s    string
	i    int
	left int
}

func (r *ctxReader) ReadRune() (rune, int, error) {
	if r.left--; r.left <= 0 {
		r.left = ctxCheckRunes
		if r.ctx.Err() != nil {
			return 0, 0, io.EOF
		}
	}
	if r.i >= len(r.s) {
		return 0, 0, io.EOF
	}
	if c := r.s[r.i]; c < utf8.RuneSelf {
		r.i++
		return rune(c), 1, nil
	}
	c, w := utf8.DecodeRuneInString(r.s[r.i:])
	r.i += w
	return c, w, nil
}

// matchBuilder collects the matches of one call.
type matchBuilder struct {
	pat    *pattern
	s      string
	want   int // matches to return
	look   int // matches to look for: want, or want+1 to detect truncation
	limit  int // Limits.MaxResultBytes
	out    []Match
	more   bool     // a match past want was seen
	groups []string // backing store handed out to Match.Groups in chunks
	budget int      // bytes the result may still grow by
}

// full reports that the search can stop: it has look matches, or want
// matches and the proof that there are more.
func (b *matchBuilder) full() bool { return b.more || len(b.out) >= b.look }

// find is regexp's FindAllStringSubmatchIndex unrolled so that ctx can be
// checked between matches: one search per match, each from where the last
// ended (see search).
func (b *matchBuilder) find(ctx context.Context) error {
	prevEnd := -1
	for pos := 0; !b.full() && pos <= len(b.s); {
		if err := ctx.Err(); err != nil {
			return err
		}
		loc, err := b.search(ctx, pos)
		if loc == nil || err != nil {
			return err
		}
		accept := true
		if loc[1] == pos {
			// An empty match. Like regexp, refuse one that abuts the
			// previous match, and step over a rune to make progress.
			accept = loc[0] != prevEnd
			if pos < len(b.s) {
				_, w := utf8.DecodeRuneInString(b.s[pos:])
				pos += w
			} else {
				pos++
			}
		} else {
			pos = loc[1]
		}
		prevEnd = loc[1]
		if accept {
			if err := b.add(loc); err != nil {
				return err
			}
		}
	}
	return nil
}

// search finds the first match at or after pos, as offsets into s, or nil.
// Searching s[pos:] sees the same text as searching s from pos, unless the
// pattern looks behind its start, which the slice would hide: such a
// pattern is searched, past the text's start, as pattern.behind from the
// rune before pos, and its match taken from behind's first group. A long
// search reads the text through a ctxReader, so that ctx stops it.
func (b *matchBuilder) search(ctx context.Context, pos int) ([]int, error) {
	re, from := b.pat.re, pos
	if b.pat.looksBehind && pos > 0 {
		_, w := utf8.DecodeLastRuneInString(b.s[:pos])
		re, from = b.pat.behind, pos-w
	}
	var loc []int
	if rest := b.s[from:]; float64(len(rest))*float64(b.pat.insts) > readerWork {
		loc = re.FindReaderSubmatchIndex(&ctxReader{ctx: ctx, s: rest, left: ctxCheckRunes})
		if err := ctx.Err(); err != nil {
			return nil, err // the reader may have ended the text early
		}
	} else {
		loc = re.FindStringSubmatchIndex(rest)
	}
	if loc == nil {
		return nil, nil
	}
	if re != b.pat.re {
		loc = loc[2:] // the pattern's own match and groups
	}
	for i := range loc {
		if loc[i] >= 0 {
			loc[i] += from
		}
	}
	return loc, nil
}

// add appends the match at loc. A match past want is not kept: it only
// proves that the result was truncated.
func (b *matchBuilder) add(loc []int) error {
	if len(b.out) == b.want {
		b.more = true
		return nil
	}
	m := Match{Value: b.s[loc[0]:loc[1]], Start: loc[0], End: loc[1]}
	size := len(m.Value)
	if n := len(loc)/2 - 1; n > 0 {
		if len(b.groups) < n {
			// One allocation for the groups of up to 16 matches.
			b.groups = make([]string, n*min(16, b.want-len(b.out)))
		}
		m.Groups, b.groups = b.groups[:n:n], b.groups[n:]
		for i := range m.Groups {
			if lo := loc[2*i+2]; lo >= 0 {
				m.Groups[i] = b.s[lo:loc[2*i+3]]
				size += len(m.Groups[i])
			}
		}
		if b.pat.named {
			m.Named = make(map[string]string)
			for i, name := range b.pat.re.SubexpNames()[1:] {
				if name != "" {
					m.Named[name] = m.Groups[i]
					size += len(name) + len(m.Groups[i])
				}
			}
		}
	}
	if b.budget -= size; b.budget < 0 {
		return errResultTooLarge(b.limit)
	}
	b.out = append(b.out, m)
	return nil
}

// IsHealthy reports whether the extractor can serve; only Close makes it
// unhealthy.
func (r *Regex) IsHealthy(context.Context) bool { return !r.closed.Load() }

// Reset readies the extractor for its next user. A Regex keeps no
// per-request state, so there is nothing to clear.
func (r *Regex) Reset(context.Context) error {
	if r.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Close marks the extractor unusable.
func (r *Regex) Close() error {
	r.closed.Store(true)
	return nil
}
