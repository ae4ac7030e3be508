package native

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"unicode/utf8"
)

// fuzzLimits are small so that the fuzzer reaches every limit.
var fuzzLimits = Limits{MaxDocumentBytes: 1 << 16, MaxMatches: 8, MaxResultBytes: 256, MaxSelectorLen: 64, MaxPatternLen: 64}

// checkErr fails unless err is nil or one of the documented kinds.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var se *SpecError
	switch {
	case err == nil,
		errors.As(err, &se) && se.Err != nil,
		errors.Is(err, ErrEmptyDocument),
		errors.Is(err, ErrDocumentTooLarge),
		errors.Is(err, ErrResultTooLarge):
	default:
		t.Fatalf("undocumented error %T: %v", err, err)
	}
}

func FuzzSelect(f *testing.F) {
	f.Add("<p>a</p><p>b</p>", "p")
	f.Add(page, "a[href]")
	f.Add("<ul><li>1<li>2</ul>", "li:nth-child(2n+1), ul > li")
	f.Add("<table><tr><td>x</table>", "td:contains(x)")
	f.Add("<div><p>x</div>", "p:has(> x), :not(div)")
	f.Add("<a href=x>", "a[href^=x i]")
	f.Add("", "")
	f.Add("<p>", "p::before")
	f.Add("<template><p>t</p></template>", "template p")
	f.Add("<script>x</script><style>y</style>", "script, style")
	f.Fuzz(func(t *testing.T, src, selector string) {
		doc, err := NewDocument(src, fuzzLimits)
		checkErr(t, err)
		if err != nil {
			return
		}
		css := NewCSS(nil, fuzzLimits)
		for _, spec := range []CSSSpec{
			{Selector: selector, All: true},
			{Selector: selector, Output: OutputInnerHTML, All: true, Limit: 3},
			{Selector: selector, Output: OutputOuterHTML},
			{Selector: selector, Attribute: "href", All: true},
		} {
			values, truncated, err := css.Select(context.Background(), doc, spec)
			checkErr(t, err)
			if len(values) > fuzzLimits.MaxMatches || (truncated && len(values) != fuzzLimits.MaxMatches) {
				t.Fatalf("%d values, truncated %v, with MaxMatches %d", len(values), truncated, fuzzLimits.MaxMatches)
			}
			size := 0
			for _, v := range values {
				size += len(v)
			}
			if size > fuzzLimits.MaxResultBytes {
				t.Fatalf("result of %d bytes over the limit", size)
			}
			if err := css.Reset(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzFind(f *testing.F) {
	f.Add("<p>a1 b22</p>", `\d+`)
	f.Add("<p>x</p>", `(?P<n>x)|(y)`)
	f.Add("aaa", `a*`)
	f.Add("a\nb", `(?m)^\w$`)
	f.Add("ab ab", `\bab\b`)
	f.Add("é€", `.`)
	f.Add("", "")
	f.Add("x", `(`)
	f.Fuzz(func(t *testing.T, src, pattern string) {
		doc, err := NewDocument(src, fuzzLimits)
		checkErr(t, err)
		if err != nil {
			return
		}
		re := NewRegex(nil, fuzzLimits)
		for _, spec := range []RegexSpec{
			{Pattern: pattern, All: true},
			{Pattern: pattern, All: true, Source: SourceHTML},
			{Pattern: pattern, Limit: 2, All: true, Source: SourceHTML},
		} {
			matches, truncated, err := re.Find(context.Background(), doc, spec)
			checkErr(t, err)
			if len(matches) > fuzzLimits.MaxMatches || (truncated && len(matches) != fuzzLimits.MaxMatches) {
				t.Fatalf("%d matches, truncated %v, with MaxMatches %d", len(matches), truncated, fuzzLimits.MaxMatches)
			}
			text := doc.Source()
			if spec.Source == SourceText {
				text, _ = doc.Text()
			}
			for _, m := range matches {
				if m.Start < 0 || m.End > len(text) || m.Start > m.End || text[m.Start:m.End] != m.Value {
					t.Fatalf("match %+v does not sit in the searched text", m)
				}
			}
			// The matches are regexp's own, in order: the searches one
			// match at a time (and from the rune before, for patterns
			// that look behind) change nothing.
			if err == nil {
				want := regexp.MustCompile(pattern).FindAllStringIndex(text, len(matches))
				for i, m := range matches {
					if i >= len(want) || want[i][0] != m.Start || want[i][1] != m.End {
						t.Fatalf("%q on %q: match %d at [%d,%d], regexp's %v", pattern, text, i, m.Start, m.End, want)
					}
				}
			}
		}
	})
}

func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte("<p>caf\xe9</p>"), "text/html; charset=windows-1252")
	f.Add([]byte(`<meta charset="shift_jis"><p>`+"\x83\x65"), "")
	f.Add([]byte(`<meta http-equiv=content-type content='text/html;charset="koi8-r"'>`), "")
	f.Add([]byte("\xef\xbb\xbf<p>x"), "text/html")
	f.Add([]byte("\xff\xfe<\x00p\x00>\x00"), "")
	f.Add([]byte("\xfe\xff\x00<"), "text/html; charset=utf-8")
	f.Add([]byte("<p>\xff</p>"), "text/html; charset=")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, raw []byte, contentType string) {
		doc, err := DecodeDocument(raw, contentType, fuzzLimits)
		checkErr(t, err)
		if err != nil {
			return
		}
		if !utf8.ValidString(doc.Source()) {
			t.Fatalf("decoded source is not UTF-8: %q", doc.Source())
		}
		if doc.Len() > fuzzLimits.MaxDocumentBytes {
			t.Fatalf("decoded document of %d bytes over the limit", doc.Len())
		}
		if _, err := doc.Text(); err != nil {
			t.Fatal(err)
		}
	})
}
