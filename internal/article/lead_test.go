package article

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestAddLead(t *testing.T) {
	const lead = "The council voted on Tuesday to close the old bridge to cars from next spring onwards"
	body := "<p>" + strings.Repeat("The body of the article, which says something else entirely. ", 5) + "</p>"
	tests := []struct {
		name, page, content string
		descriptions        []string
		added               bool
		want                string // the text of the content's first element after
	}{
		{"the lead in the header opens the content", `<header><h1>Bridge</h1><p class=dek>` + lead + `.</p></header>` + body, body,
			[]string{lead + "."}, true, lead + "."},
		{"a shortened description finds the whole lead", `<div class=teaser>` + lead + `, the mayor said on the radio.</div>` + body, body,
			[]string{lead + " …"}, true, lead + ", the mayor said on the radio."},
		{"the content holds it: unchanged", body, `<p>` + lead + `.</p>` + body,
			[]string{lead}, false, lead + "."},
		{"a description the page does not show adds nothing", body, body,
			[]string{lead}, false, "The body"},
		{"a short description is a slogan, not a lead", `<p>Best recipes on the web, every day</p>` + body, body,
			[]string{"Best recipes on the web, every day"}, false, "The body"},
		{"navigation and asides are not the lead", `<nav><p>` + lead + `</p></nav><aside><p>` + lead + `</p></aside>` + body, body,
			[]string{lead}, false, "The body"},
		{"a link to the article is not its lead", `<p><a href=/story>` + lead + `</a></p>` + body, body,
			[]string{lead}, false, "The body"},
		{"the headline is not the lead", `<h1>` + lead + `</h1>` + body, body,
			[]string{lead}, false, "The body"},
		{"a line between breaks becomes a paragraph of its own", `<div>Kicker<br>` + lead + `<br>More</div>` + body, body,
			[]string{lead}, true, lead},
		{"the second description can be the lead", `<p>` + lead + `</p>` + body, body,
			[]string{"Something the page never says in any of its many lines", lead}, true, lead},
		{"another text of the same words is not the lead", `<p>` + strings.Repeat("bridge council ", 30) + `</p>` + body, body,
			[]string{lead}, false, "The body"},
		{"without a description, the element after the headline that says it is the lead", `<h1>Bridge</h1><p class="article-header__lead">` + lead + `.</p>` + body, body,
			nil, true, lead + "."},
		{"a lead class before the headline is another story's", `<p class="lead">` + lead + `.</p><h1>Bridge</h1>` + body, body,
			nil, false, "The body"},
		{"a leaderboard is no lead", `<h1>Bridge</h1><div class="leaderboard">` + lead + `.</div>` + body, body,
			nil, false, "The body"},
		{"a lead of links is a teaser", `<h1>Bridge</h1><p class="intro"><a href=/x>` + lead + `</a></p>` + body, body,
			nil, false, "The body"},
		{"a lead the content holds is not added again", `<h1>Bridge</h1><p class="lead--lg">` + lead + `.</p>` + body, `<p>` + lead + `.</p>` + body,
			nil, false, lead},
		{"a lead too far below the headline is not one", `<h1>Bridge</h1>` + strings.Repeat(body, 8) + `<p class="lead">` + lead + `.</p>`, body,
			nil, false, "The body"},
	}
	base, _ := url.Parse("http://example.com/")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fragment(t, tt.page)
			content := fragment(t, tt.content)
			if got := addLead(content, root, tt.descriptions, base); got != tt.added {
				t.Errorf("addLead = %v, want %v", got, tt.added)
			}
			first := textOf(firstElementChild(content))
			if !strings.HasPrefix(first, tt.want) {
				t.Errorf("first element %q, want it to start with %q", first, tt.want)
			}
		})
	}
}

// TestShareIn checks that shareIn, which reads a tree's text in place,
// agrees with the word triples of textOf's text.
func TestShareIn(t *testing.T) {
	tests := []struct{ page, summary string }{
		{`<p>The council voted on Tuesday to close the bridge.</p>`, "The council voted on Tuesday"},
		{`<p>The coun<b>cil</b> voted <i>on</i> Tuesday</p><script>the council voted</script>`, "The council voted on Tuesday"},
		{`<p>One two</p>`, "One two"},
		{`<p>Nothing alike here at all.</p>`, "The council voted on Tuesday"},
		{`<p>Half of it: the council voted, then</p><p>on Friday.</p>`, "the council voted on Tuesday to close"},
	}
	for _, tt := range tests {
		root := fragment(t, tt.page)
		want := shingleSet(tt.summary)
		seen := map[uint64]bool{}
		eachShingle(textOf(root), func(h uint64) bool {
			if want[h] {
				seen[h] = true
			}
			return true
		})
		if got, exp := shareIn(want, root), float64(len(seen))/float64(len(want)); got != exp {
			t.Errorf("shareIn(%q, %q) = %v, want %v", tt.summary, tt.page, got, exp)
		}
	}
}

func TestInvisible(t *testing.T) {
	tests := []struct {
		el   string
		want bool
	}{
		{`<p hidden>x</p>`, true},
		{`<p aria-hidden="true">x</p>`, true},
		{`<p style="display: none">x</p>`, true},
		{`<p style="COLOR:red; Display : None;">x</p>`, true},
		{`<p style="visibility:hidden">x</p>`, true},
		{`<p style="display:block; ` + strings.Repeat("margin: 0; ", 40) + `display:none">x</p>`, true},
		{`<p style="display:inline">x</p>`, false},
		{`<p>x</p>`, false},
	}
	for _, tt := range tests {
		if got := invisible(firstElementChild(fragment(t, tt.el))); got != tt.want {
			t.Errorf("invisible(%s) = %v, want %v", tt.el, got, tt.want)
		}
	}
}

// TestAddLeadBounds feeds the lead rule its worst page: the most and
// longest descriptions, and thousands of lines that each hold some of
// their words. It reads the page once per description and adds one
// element at most.
func TestAddLeadBounds(t *testing.T) {
	words := strings.Fields(strings.Repeat("alpha beta gamma delta epsilon zeta eta theta iota kappa ", 40))
	desc := strings.Join(words, " ")[:2000]
	var sb strings.Builder
	for i := range 5000 {
		// Every line holds a few of the description's triples, never
		// enough to be its lead.
		fmt.Fprintf(&sb, "<p>%s line %d</p>", strings.Join(words[i%30:i%30+4], " "), i)
	}
	root := fragment(t, sb.String())
	content := fragment(t, "<p>The content.</p>")
	if addLead(content, root, []string{desc, desc + " x", desc + " y"}, nil) {
		t.Error("a lead was added from lines that each hold a sliver of the description")
	}
	if n := len(slices.Collect(descendants(content, "p"))); n != 1 {
		t.Errorf("content has %d paragraphs, want 1", n)
	}
}
