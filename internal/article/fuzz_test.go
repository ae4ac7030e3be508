package article

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// FuzzExtract checks that no page and mode make Extract panic, and that
// every result keeps its invariants.
func FuzzExtract(f *testing.F) {
	seeds := []string{
		"",
		"<p>x</p>",
		page("", articleBody),
		`<html><head><base href="::bad"><title>t</title></head><body><a href="%zz">x</a><img srcset=",,"></body></html>`,
		`<script type="application/ld+json">{"@type":"Article","author":[{"name":1}]}</script>`,
		"<ul><li><ol><li><blockquote><pre>```</pre></blockquote></li></ol></li></ul>",
		"<table><tr><td><table><tr><th>|</th></tr></table></td></tr></table>",
		"<svg><math><template><p>x</template></math></svg><noscript><img src=a></noscript>",
		"\x00<\xff>&amp;&#0;",
		// The lead, date-line, teaser and signature rules.
		`<meta name="description" content="The lead of it all, said in more than eight words here."><h1>T</h1><div>x<br>The lead of it all, said in more than eight words here.<br>y</div>` + articleBody,
		`<h1>T</h1><p class="lead--lg">` + articleBody + `</p><time datetime="P1D">1 day</time><p>Updated <time>3 May</time></p><ul class="teaser"><li><a href=x>y</a></li></ul>`,
		articleBody + `<p align=right><b><i>Ann Lindqvist</i></b></p><ruby>漢<rt>かん</rt></ruby>`,
	}
	for i, s := range seeds {
		f.Add(s, Modes()[i%len(Modes())])
	}
	f.Add("<p>x</p>", "bogus")
	f.Fuzz(func(t *testing.T, page, mode string) {
		res, err := Extract(page, Request{URL: "http://fakehost/test/page.html", Mode: mode, Selectors: []string{"p", "a[href]"}})
		if err != nil {
			if res != nil {
				t.Fatalf("result and error %v", err)
			}
			if mode == "" || slices.Contains(Modes(), mode) {
				if !errors.Is(err, ErrEmptyDocument) {
					t.Fatalf("valid mode %q: %v", mode, err)
				}
			} else if !errors.Is(err, ErrUnknownMode) {
				t.Fatalf("mode %q: %v, want ErrUnknownMode", mode, err)
			}
			return
		}
		if res.QualityScore < 0 || res.QualityScore > 100 || res.WordCount < 0 || res.ReadingTimeMinutes < 0 {
			t.Fatalf("out of range: quality %d, words %d, reading %v", res.QualityScore, res.WordCount, res.ReadingTimeMinutes)
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("result does not marshal: %v", err)
		}
	})
}
