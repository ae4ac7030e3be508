package native

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	const html = `<html><body><p>Price: $12.50, was $15.00</p><script>var p = "$99.99"</script><p>Call 555-1234</p></body></html>`
	// Text: "Price: $12.50, was $15.00 Call 555-1234"
	tests := []struct {
		name string
		spec RegexSpec
		want []Match
	}{
		{
			name: "first in text",
			spec: RegexSpec{Pattern: `\$\d+\.\d+`},
			want: []Match{{Value: "$12.50", Start: 7, End: 13}},
		},
		{
			name: "all in text skips scripts",
			spec: RegexSpec{Pattern: `\$\d+\.\d+`, All: true},
			want: []Match{{Value: "$12.50", Start: 7, End: 13}, {Value: "$15.00", Start: 19, End: 25}},
		},
		{
			name: "all in html sees scripts",
			spec: RegexSpec{Pattern: `\$\d+\.\d+`, All: true, Source: SourceHTML},
			want: []Match{{Value: "$12.50", Start: 22, End: 28}, {Value: "$15.00", Start: 34, End: 40}, {Value: "$99.99", Start: 61, End: 67}},
		},
		{
			name: "html source matches markup",
			spec: RegexSpec{Pattern: `<p>`, All: true, Limit: 1, Source: SourceHTML},
			want: []Match{{Value: "<p>", Start: 12, End: 15}},
		},
		{
			name: "limit",
			spec: RegexSpec{Pattern: `\d+`, All: true, Limit: 3},
			want: []Match{{Value: "12", Start: 8, End: 10}, {Value: "50", Start: 11, End: 13}, {Value: "15", Start: 20, End: 22}},
		},
		{
			name: "groups",
			spec: RegexSpec{Pattern: `\$(\d+)\.(\d+)`},
			want: []Match{{Value: "$12.50", Start: 7, End: 13, Groups: []string{"12", "50"}}},
		},
		{
			name: "named and unnamed groups in order",
			spec: RegexSpec{Pattern: `(?P<dollars>\d+)(\.)(?P<cents>\d+)`, All: true, Limit: 1},
			want: []Match{{
				Value: "12.50", Start: 8, End: 13,
				Groups: []string{"12", ".", "50"},
				Named:  map[string]string{"dollars": "12", "cents": "50"},
			}},
		},
		{
			name: "non-participating group is empty",
			spec: RegexSpec{Pattern: `(?P<price>\$\d+)|(?P<phone>\d{3}-\d{4})`, All: true},
			want: []Match{
				{Value: "$12", Start: 7, End: 10, Groups: []string{"$12", ""}, Named: map[string]string{"price": "$12", "phone": ""}},
				{Value: "$15", Start: 19, End: 22, Groups: []string{"$15", ""}, Named: map[string]string{"price": "$15", "phone": ""}},
				{Value: "555-1234", Start: 31, End: 39, Groups: []string{"", "555-1234"}, Named: map[string]string{"price": "", "phone": "555-1234"}},
			},
		},
		{
			name: "anchored pattern",
			spec: RegexSpec{Pattern: `^\w+`, All: true},
			want: []Match{{Value: "Price", Start: 0, End: 5}},
		},
		{
			name: "word boundary pattern",
			spec: RegexSpec{Pattern: `\b\d{2}\b`, All: true},
			want: []Match{{Value: "12", Start: 8, End: 10}, {Value: "50", Start: 11, End: 13}, {Value: "15", Start: 20, End: 22}, {Value: "00", Start: 23, End: 25}},
		},
		{
			name: "no match",
			spec: RegexSpec{Pattern: `€`, All: true},
			want: nil,
		},
	}
	doc := mustDoc(t, html)
	re := NewRegex(NewPatternCache(8), Limits{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated, err := re.Find(context.Background(), doc, tt.spec)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if truncated {
				t.Error("truncated = true, want false")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Find =\n%+v\nwant\n%+v", got, tt.want)
			}
			src := doc.Source()
			if tt.spec.Source == SourceText {
				src, _ = doc.Text()
			}
			for _, m := range got {
				if src[m.Start:m.End] != m.Value {
					t.Errorf("offsets [%d:%d] give %q, not %q", m.Start, m.End, src[m.Start:m.End], m.Value)
				}
			}
		})
	}
}

// TestFindMatchesRegexp checks that Find returns exactly what regexp's
// FindAllStringSubmatchIndex does, including the empty-match rules and
// patterns that look behind their start, which take another path.
func TestFindMatchesRegexp(t *testing.T) {
	texts := []string{
		"abc abc  ab\nc a€b\n\nx",
		"aaa",
		"é€ 12 x",
		"",
	}
	patterns := []string{
		`a*`, `b*`, `x*`, `a|`, `|a`, `\s*`, `(a)|(b)`, `.`, `(?s).`, `€*`,
		`^`, `$`, `(?m)^`, `(?m)^\w*`, `(?m)$`, `\b`, `\B`, `\bab`, `a\b`, `\A.`, `.\z`,
		`(?:a|b)*?`, `[^ ]+`, `(a*)(b*)`,
		`\b(\w)(\w*)\b`, `(?m)^(\w+)|(x)`, `(?i)\bA(B)?`, `\B(.)`, `^(a)|b`, `(?m)(^|c)(\s*)`,
	}
	for _, text := range texts {
		doc := mustDoc(t, "<pre>"+text+"</pre>") // SourceHTML keeps the text as written
		src := doc.Source()
		for _, p := range patterns {
			std := regexp.MustCompile(p)
			want := std.FindAllStringSubmatchIndex(src, -1)
			re := NewRegex(nil, Limits{})
			got, _, err := re.Find(context.Background(), doc, RegexSpec{Pattern: p, All: true, Source: SourceHTML})
			if err != nil {
				t.Fatalf("Find(%q): %v", p, err)
			}
			if len(got) != len(want) {
				t.Errorf("Find(%q) on %q: %d matches, regexp finds %d", p, src, len(got), len(want))
				continue
			}
			for i, m := range got {
				if m.Start != want[i][0] || m.End != want[i][1] {
					t.Errorf("Find(%q) on %q: match %d at [%d,%d], regexp at %v", p, src, i, m.Start, m.End, want[i][:2])
				}
				for g, v := range m.Groups {
					if lo := want[i][2*g+2]; lo >= 0 && v != src[lo:want[i][2*g+3]] || lo < 0 && v != "" {
						t.Errorf("Find(%q) on %q: match %d group %d %q, regexp's at %v", p, src, i, g+1, v, want[i][2*g+2:2*g+4])
					}
				}
			}
		}
	}
}

func TestFindTruncated(t *testing.T) {
	for _, anchored := range []bool{false, true} {
		pattern := `x`
		if anchored {
			pattern = `\bx`
		}
		doc := mustDoc(t, strings.Repeat("x ", 200))
		tests := []struct {
			name          string
			maxMatches    int
			spec          RegexSpec
			wantN         int
			wantTruncated bool
		}{
			{"under max", 500, RegexSpec{Pattern: pattern, All: true}, 200, false},
			{"exactly max", 200, RegexSpec{Pattern: pattern, All: true}, 200, false},
			{"over max", 150, RegexSpec{Pattern: pattern, All: true}, 150, true},
			{"limit", 150, RegexSpec{Pattern: pattern, All: true, Limit: 100}, 100, false},
			{"limit over max", 150, RegexSpec{Pattern: pattern, All: true, Limit: 170}, 150, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				re := NewRegex(nil, Limits{MaxMatches: tt.maxMatches})
				got, truncated, err := re.Find(context.Background(), doc, tt.spec)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tt.wantN || truncated != tt.wantTruncated {
					t.Errorf("%s: got %d, truncated %v; want %d, %v", pattern, len(got), truncated, tt.wantN, tt.wantTruncated)
				}
			})
		}
	}
}

func TestFindErrors(t *testing.T) {
	doc := mustDoc(t, "<p>aaaaa bbbbb</p>")
	limits := Limits{MaxPatternLen: 16, MaxResultBytes: 8}
	tests := []struct {
		name      string
		doc       *Document
		spec      RegexSpec
		wantField string
		wantErr   error
	}{
		{name: "empty pattern", spec: RegexSpec{}, wantField: "pattern", wantErr: ErrEmptyValue},
		{name: "pattern too long", spec: RegexSpec{Pattern: strings.Repeat("a", 17)}, wantField: "pattern", wantErr: ErrTooLong},
		{name: "syntax", spec: RegexSpec{Pattern: `a(`}, wantField: "pattern"},
		{name: "backreference is not RE2", spec: RegexSpec{Pattern: `(a)\1`}, wantField: "pattern"},
		{name: "negative limit", spec: RegexSpec{Pattern: "a", Limit: -1}, wantField: "limit"},
		{name: "unknown source", spec: RegexSpec{Pattern: "a", Source: 9}, wantField: "source"},
		{name: "nil document", spec: RegexSpec{Pattern: "a"}, wantErr: ErrEmptyDocument},
		{name: "values over result bytes", doc: doc, spec: RegexSpec{Pattern: `\w+`, All: true}, wantErr: ErrResultTooLarge},
		{name: "groups count", doc: doc, spec: RegexSpec{Pattern: `(a+)`}, wantErr: ErrResultTooLarge},
		{name: "names count", doc: mustDoc(t, "<p>aaa</p>"), spec: RegexSpec{Pattern: `(?P<name>a+)`}, wantErr: ErrResultTooLarge},
		{name: "within result bytes", doc: doc, spec: RegexSpec{Pattern: `\w+`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := NewRegex(nil, limits)
			d := tt.doc
			if d == nil && !errors.Is(tt.wantErr, ErrEmptyDocument) {
				d = doc
			}
			_, _, err := re.Find(context.Background(), d, tt.spec)
			if tt.wantField == "" && tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Find: %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Find succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			var se *SpecError
			isSpec := errors.As(err, &se)
			if tt.wantField != "" && (!isSpec || se.Field != tt.wantField) {
				t.Errorf("err = %v, want a *SpecError for %q", err, tt.wantField)
			}
			if tt.wantField == "" && isSpec {
				t.Errorf("err = %v is a *SpecError, want none", err)
			}
		})
	}

	// A syntax error stays inspectable.
	_, _, err := NewRegex(nil, Limits{}).Find(context.Background(), doc, RegexSpec{Pattern: `a(`})
	var se *syntax.Error
	if !errors.As(err, &se) || se.Code != syntax.ErrMissingParen {
		t.Errorf("err = %v, want a *syntax.Error with ErrMissingParen", err)
	}
}

func TestFindContextCanceled(t *testing.T) {
	doc := mustDoc(t, strings.Repeat("x ", 1000))
	for _, pattern := range []string{`x`, `\bx`} {
		re := NewRegex(nil, Limits{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := re.Find(ctx, doc, RegexSpec{Pattern: pattern, All: true}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Find with canceled ctx: err = %v, want context.Canceled", pattern, err)
		}
		ctx = &countdownCtx{Context: context.Background(), left: 3}
		if _, _, err := re.Find(ctx, doc, RegexSpec{Pattern: pattern, All: true}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Find with ctx canceled between matches: err = %v, want context.Canceled", pattern, err)
		}
	}
	// One long search that finds nothing: stopped inside it, looking
	// behind its start or not (each search after the first, for \b,
	// starts from the rune before the position).
	long := mustDoc(t, "<p>x</p>"+strings.Repeat("x ", 1<<20))
	for _, pattern := range []string{`zzz\w`, `\bzzz\w`, `x\b.*zzz`} {
		re := NewRegex(nil, Limits{})
		ctx := &countdownCtx{Context: context.Background(), left: 4}
		if _, _, err := re.Find(ctx, long, RegexSpec{Pattern: pattern, All: true}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Find with ctx canceled inside a long search: err = %v, want context.Canceled", pattern, err)
		}
	}
}

func TestRegexLifecycle(t *testing.T) {
	ctx := context.Background()
	re := NewRegex(nil, Limits{})
	if !re.IsHealthy(ctx) {
		t.Fatal("new extractor unhealthy")
	}
	if err := re.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := re.Close(); err != nil {
		t.Fatal(err)
	}
	if re.IsHealthy(ctx) {
		t.Error("closed extractor healthy")
	}
	if err := re.Reset(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Reset after Close: %v, want ErrClosed", err)
	}
	if _, _, err := re.Find(ctx, mustDoc(t, "a"), RegexSpec{Pattern: "a"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Find after Close: %v, want ErrClosed", err)
	}
}
