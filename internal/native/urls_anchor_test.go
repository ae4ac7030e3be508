package native

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	whatwg "github.com/nlnwa/whatwg-url/url"
)

// TestURLsAgreeWithW3lib resolves every a@href, img@src, link@href and
// form@action of every page of the corpus against the page's URL (and its
// <base href>) and compares with Scrapy's way, w3lib's safe_url_string
// over urljoin against w3lib.html.get_base_url (see make_anchors.py).
//
// The two follow different standards: the daemon the WHATWG URL
// Standard, as browsers do; w3lib RFC 3986 by way of Python's urljoin,
// and then percent-encodes more. The anchors hold a hash of each page's
// answer, not its values, so the test brings each value the daemon
// answered into w3lib's form, undoing one explained difference at a time
// (w3libForm), and compares the page's hash: a value that differs for
// any other reason fails the page. Where a difference cannot be undone
// from the daemon's value (urlsUnexplainable), the page may differ, and
// is counted, per kind of difference, against urlsAllowed.
func TestURLsAgreeWithW3lib(t *testing.T) {
	a, pages := loadAnchors(t)
	c := NewCSS(nil, Limits{MaxMatches: 1 << 20, MaxResultBytes: 1 << 30})
	mismatches := map[string][]string{}
	allowed := map[string]map[string][]string{} // kind -> query -> pages
	undone := map[string]int{}                  // kind -> values
	for _, p := range pages {
		doc := scriptlessDocument(t, p)
		doc.SetURL(p.url)
		base := pageBase{url: p.url}
		if b := doc.base(); b != nil {
			base.scheme = strings.TrimSuffix(b.Protocol(), ":")
		}
		if href, ok := doc.baseHref(); ok {
			base.url = href
		}
		for i, q := range a.URLQueries {
			spec := CSSSpec{Selector: q, All: true}
			values, _, err := c.Select(context.Background(), doc, spec)
			if err != nil {
				t.Fatalf("%s: Select(%q): %v", p.name, q, err)
			}
			raw := slices.Clone(values)
			if _, err := c.ResolveURLs(doc, spec, values); err != nil {
				t.Fatalf("%s: ResolveURLs(%q): %v", p.name, q, err)
			}
			var unexplainable []string
			if j := slices.Index(a.PseudoQueries, q); j >= 0 && !answerOf(raw).equal(a.Pages[p.name].Pseudo[j]) {
				// The raw values are not parsel's (the pseudo anchors).
				unexplainable = append(unexplainable, diffTree)
			}
			for i := range values {
				var kinds []string
				values[i], kinds = w3libForm(base, raw[i], values[i])
				for _, k := range kinds {
					if _, ok := urlsUnexplainable[k]; ok {
						unexplainable = append(unexplainable, k)
					} else {
						undone[k]++
					}
				}
			}
			if answerOf(values).equal(a.Pages[p.name].URLs[i]) {
				continue
			}
			if len(unexplainable) == 0 {
				mismatches[q] = append(mismatches[q], p.name)
				continue
			}
			// Counted once, under the first kind the page has.
			k := unexplainable[0]
			if allowed[k] == nil {
				allowed[k] = map[string][]string{}
			}
			allowed[k][q] = append(allowed[k][q], p.name)
		}
	}
	for _, q := range a.URLQueries {
		if bad := mismatches[q]; len(bad) > 0 {
			t.Errorf("%q differs from w3lib on %d of %d pages where every difference is one w3libForm undoes: %q", q, len(bad), len(pages), bad[:min(len(bad), 5)])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(allowed)) {
		for q, ps := range allowed[k] {
			if max := urlsAllowed[k][q]; len(ps) > max {
				t.Errorf("%q differs from w3lib on %d pages with %s (%d allowed: %s), e.g. %q", q, len(ps), k, max, urlsUnexplainable[k], ps[:min(len(ps), 5)])
			} else {
				t.Logf("%q differs from w3lib on %d pages with %s, as allowed", q, len(ps), k)
			}
		}
	}
	t.Logf("values brought into w3lib's form, by difference: %v", undone)
}

// Kinds of difference between the daemon's (WHATWG) resolution and
// w3lib's that w3libForm undoes, value by value.
const (
	// urljoin drops an empty query or fragment ("#", "x?"), which the
	// WHATWG serializer keeps, as a.href does.
	diffEmpty = "an empty query or fragment"
	// The WHATWG serializer writes the path "/" of a special URL whose
	// path is empty (https://example.com/); w3lib leaves it empty.
	diffEmptyPath = "an empty path"
	// urlunsplit drops the empty host of a URL whose scheme it does not
	// know to have one (javascript:// becomes javascript:).
	diffEmptyHost = "an empty host dropped"
	// urljoin drops the empty segments of a relative path merged with the
	// base's (a/..//b, or http://x inside a path becomes http:/x).
	diffMergedSlashes = "empty segments of a merged path"
	// safe_url_string percent-encodes what the WHATWG sets leave as
	// written: [ ] | \ ^ ` { } in paths and queries, ' in special queries,
	// spaces and the rest in opaque paths (javascript:, data:).
	diffEscapes = "characters w3lib percent-encodes"
	// urljoin leaves an absolute URL as written, its dot segments
	// included (https://x/a/../b); WHATWG removes them. The form is then
	// the raw value's, made safe.
	diffAbsoluteDots = "dot segments in an absolute URL"
	// urljoin does not resolve against a base of a scheme it does not
	// know (a <base href> of xhttps://...), and answers the relative URL
	// as written; WHATWG resolves against any base with a host.
	diffUnknownBase = "a base of a scheme urljoin does not know"
	// A scheme-relative URL whose host is invalid by WHATWG (//:0,
	// //<a b>/x) is answered unchanged and counted unresolved; urljoin
	// gives it the base's scheme.
	diffInvalidHost = "a scheme-relative URL with an invalid host"
	// urljoin leaves a base URL as written, its dot segments included
	// (<base href="https://x/a/.">), for a URL that has no path of its
	// own ("", "#x"); WHATWG removes them.
	diffBaseDots = "dot segments in the base URL"
	// WHATWG drops a scheme's default port (https://x:443/); w3lib keeps
	// it as written.
	diffDefaultPort = "a default port"
	// Python's str.strip, which urljoin's caller applies, strips Unicode
	// white space (U+00A0...) at the ends; WHATWG strips only C0 controls
	// and spaces, and percent-encodes the rest.
	diffUnicodeSpace = "Unicode white space at the ends"
)

// diffTree: html5lib and x/net/html build some pages into different
// trees, which hold different elements (TestPseudoAgreesWithParsel).
const diffTree = "a tree difference"

// urlsUnexplainable are the differences that cannot be undone from the
// daemon's value, where the daemon follows WHATWG as browsers do.
var urlsUnexplainable = map[string]string{
	diffTree: "html5lib and x/net/html build the page differently (pseudoExplained)",
	// WHATWG reads \ as / in special URLs (\Images\x.gif is /Images/x.gif,
	// as browsers go there); urljoin percent-encodes it, after joining it
	// as a relative path.
	"a backslash in a special URL": "WHATWG reads \\ as / in http(s) URLs; w3lib escapes it",
	// WHATWG percent-decodes a host and writes it in punycode; w3lib
	// keeps %C3%A9 in the host.
	"a percent-encoded host": "WHATWG decodes and punycodes the host; w3lib keeps it escaped",
	// http:// or https://# alone has no host: WHATWG fails it (answered
	// unchanged, counted unresolved); urljoin answers the base. https:///x
	// skips the slashes to the host x by WHATWG; urljoin takes the base's
	// host.
	"an empty host": "WHATWG fails http:// or finds the host after https:///; urljoin takes the base's",
	// A host WHATWG fails (spaces, or %20 that decodes to one: text
	// pasted as a link) is answered as written and counted unresolved;
	// w3lib lowercases it, drops a colon and punycodes it as it can.
	"an invalid host": "WHATWG fails the host and answers the URL as written; w3lib rewrites it",
}

// urlsAllowed bounds, per kind of urlsUnexplainable and query, the pages
// on which the daemon may differ from w3lib.
var urlsAllowed = map[string]map[string]int{
	diffTree:                       {"a::attr(href)": 1},
	"a backslash in a special URL": {"a::attr(href)": 2, "img::attr(src)": 1, "link::attr(href)": 1},
	"a percent-encoded host":       {"a::attr(href)": 1},
	"an empty host":                {"a::attr(href)": 2, "img::attr(src)": 1},
	"an invalid host":              {"a::attr(href)": 3},
}

// pageBase is what w3libForm needs of a page's base URL: its scheme as
// WHATWG reads it, and as written (the <base href>, else the page's URL).
type pageBase struct {
	scheme, url string
}

var (
	schemeRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	dotSegment = regexp.MustCompile(`(^|/)\.\.?(/|$)`)
)

// specialScheme reports the WHATWG special schemes.
func specialScheme(s string) bool {
	switch s {
	case "http", "https", "ftp", "ws", "wss", "file":
		return true
	}
	return false
}

// urljoinRelative reports the schemes Python's urljoin resolves against
// (urllib.parse.uses_relative), among those a page has.
func urljoinRelative(s string) bool {
	switch s {
	case "", "ftp", "http", "gopher", "nntp", "imap", "wais", "file", "https",
		"shttp", "mms", "prospero", "rtsp", "rtspu", "sftp", "svn", "svn+ssh", "ws", "wss":
		return true
	}
	return false
}

// urljoinNetloc reports the schemes whose empty host urlunsplit keeps
// (urllib.parse.uses_netloc).
func urljoinNetloc(s string) bool {
	switch s {
	case "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file",
		"mms", "https", "shttp", "snews", "prospero", "rtsp", "rtspu", "rsync",
		"svn", "svn+ssh", "sftp", "nfs", "git", "git+ssh", "ws", "wss":
		return true
	}
	return false
}

// urlParts splits u as Python's urlsplit does; host is nil when u has no
// "//".
type urlParts struct {
	scheme            string
	host              *string
	path, query, frag string
	hasQuery, hasFrag bool
}

func splitURL(u string) urlParts {
	var p urlParts
	if m := schemeRE.FindString(u); m != "" {
		p.scheme, u = strings.ToLower(m[:len(m)-1]), u[len(m):]
	}
	if rest, ok := strings.CutPrefix(u, "//"); ok {
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		h := rest[:end]
		p.host, u = &h, rest[end:]
	}
	u, p.frag, p.hasFrag = strings.Cut(u, "#")
	p.path, p.query, p.hasQuery = strings.Cut(u, "?")
	return p
}

// w3libForm returns the form w3lib gives the URL that reads raw in the
// page and that the daemon resolved to got, on a page whose base URL has
// the scheme baseScheme, and the kinds of difference it undid or found.
func w3libForm(base pageBase, raw, got string) (string, []string) {
	var kinds []string
	baseScheme := base.scheme
	r := strings.TrimFunc(raw, func(c rune) bool { return c <= ' ' })
	if py := strings.TrimFunc(r, pythonSpace); py != r {
		// What WHATWG percent-encoded of the Unicode white space at the
		// end, dropped.
		got = strings.TrimSuffix(got, w3libEscape(r[len(strings.TrimRightFunc(r, pythonSpace)):], ""))
		r = py
		kinds = append(kinds, diffUnicodeSpace)
	}
	rp := splitURL(r)
	gp := splitURL(got)
	absolute := rp.host != nil
	relativePath := !absolute && rp.scheme == "" && r != "" && !strings.HasPrefix(r, "/") &&
		!strings.HasPrefix(r, "?") && !strings.HasPrefix(r, "#")

	switch {
	case strings.Contains(r, `\`) && specialScheme(gp.scheme):
		return got, []string{"a backslash in a special URL"}
	case absolute && *rp.host == "" && specialScheme(rp.scheme):
		return got, []string{"an empty host"}
	case absolute && rp.scheme != "" && got == raw && !validURL(r):
		return got, []string{"an invalid host"}
	case absolute && strings.Contains(*rp.host, "%"):
		return got, []string{"a percent-encoded host"}
	case absolute && rp.scheme == "" && got == raw:
		kinds = append(kinds, diffInvalidHost)
		gp = splitURL(baseScheme + ":" + r)
	case absolute && dotSegment.MatchString(rp.path):
		kinds = append(kinds, diffAbsoluteDots)
		if rp.scheme == "" {
			rp.scheme = baseScheme
		}
		if rp.host != nil {
			h := strings.ToLower(*rp.host)
			rp.host = &h
		}
		gp = rp
	case !absolute && rp.scheme == "" && !urljoinRelative(baseScheme):
		kinds = append(kinds, diffUnknownBase)
		gp = rp
	}

	if bp := splitURL(base.url); !absolute && rp.scheme == "" && rp.path == "" && bp.host != nil && dotSegment.MatchString(bp.path) {
		gp.path = bp.path
		kinds = append(kinds, diffBaseDots)
	}
	emptyPath := absolute && rp.path == "" ||
		// "", "#x", "?x" keep the base's path, which may be empty.
		!absolute && rp.scheme == "" && rp.path == "" && splitURL(base.url).host != nil && splitURL(base.url).path == ""
	if emptyPath && gp.path == "/" && specialScheme(gp.scheme) {
		gp.path = ""
		kinds = append(kinds, diffEmptyPath)
	}
	if absolute && gp.host != nil && rp.host != nil {
		if _, port, ok := strings.Cut(*rp.host, ":"); ok && port != "" && !strings.Contains(*gp.host, ":") {
			h := *gp.host + ":" + port
			gp.host = &h
			kinds = append(kinds, diffDefaultPort)
		}
	}
	if gp.host != nil && *gp.host == "" && !urljoinNetloc(gp.scheme) {
		gp.host = nil
		kinds = append(kinds, diffEmptyHost)
	}
	if gp.hasQuery && gp.query == "" || gp.hasFrag && gp.frag == "" {
		kinds = append(kinds, diffEmpty)
	}
	if relativePath && strings.Contains(gp.path, "//") {
		for strings.Contains(gp.path, "//") {
			gp.path = strings.ReplaceAll(gp.path, "//", "/")
		}
		kinds = append(kinds, diffMergedSlashes)
	}
	path := w3libEscape(gp.path, "#[]|")
	query := w3libEscape(gp.query, "#[]|")
	if specialScheme(gp.scheme) {
		query = w3libEscape(gp.query, "#[]|'")
	}
	frag := w3libEscape(gp.frag, "#[]|")
	if path != gp.path || query != gp.query || frag != gp.frag {
		kinds = append(kinds, diffEscapes)
	}

	var b strings.Builder
	if gp.scheme != "" {
		b.WriteString(gp.scheme + ":")
	}
	if gp.host != nil {
		b.WriteString("//" + *gp.host)
	}
	b.WriteString(path)
	if query != "" {
		b.WriteString("?" + query)
	}
	if frag != "" {
		b.WriteString("#" + frag)
	}
	return b.String(), kinds
}

// pythonSpace reports what Python's str.strip strips beyond C0 controls
// and the space.
func pythonSpace(c rune) bool {
	return c <= ' ' || unicode.IsSpace(c)
}

// validURL reports whether WHATWG parses the absolute URL u.
func validURL(u string) bool {
	_, err := whatwg.Parse(u)
	return err == nil
}

// w3libEscape percent-encodes s as safe_url_string does: every byte but
// RFC 3986's reserved and unreserved characters and %, less those of not.
func w3libEscape(s, not string) string {
	const safe = ":/?#[]@!$&'()*+,;=" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~" + "%"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(safe, c) >= 0 && strings.IndexByte(not, c) < 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestW3libForm pins each kind of difference w3libForm undoes on a made-up
// value (what w3lib answers for it, by hand from its rules).
func TestW3libForm(t *testing.T) {
	https := pageBase{scheme: "https", url: "https://example.com/dir/page"}
	tests := []struct {
		base       pageBase
		raw, got   string
		want, kind string
	}{
		{https, "https://example.com", "https://example.com/", "https://example.com", diffEmptyPath},
		{https, "#", "https://example.com/dir/page#", "https://example.com/dir/page", diffEmpty},
		{https, "x?", "https://example.com/dir/x?", "https://example.com/dir/x", diffEmpty},
		{https, "javascript://", "javascript://", "javascript:", diffEmptyHost},
		{https, "a//b", "https://example.com/dir/a//b", "https://example.com/dir/a/b", diffMergedSlashes},
		{https, "/q?a=[1]|b", "https://example.com/q?a=[1]|b", "https://example.com/q?a=%5B1%5D%7Cb", diffEscapes},
		{https, "javascript: f('a b')", "javascript: f('a b')", "javascript:%20f('a%20b')", diffEscapes},
		{https, "https://Example.com/a/../b", "https://example.com/b", "https://example.com/a/../b", diffAbsoluteDots},
		{pageBase{scheme: "xhttps", url: "xhttps://example.com/"}, "/a", "xhttps://example.com/a", "/a", diffUnknownBase},
		{https, "//:0", "//:0", "https://:0", diffInvalidHost},
		{pageBase{scheme: "https", url: "https://example.com/a/."}, "#x", "https://example.com/a/#x", "https://example.com/a/.#x", diffBaseDots},
		{https, "https://example.com:443/a", "https://example.com/a", "https://example.com:443/a", diffDefaultPort},
		{https, "/a\u00a0", "https://example.com/a%C2%A0", "https://example.com/a", diffUnicodeSpace},
		{https, `\a\b`, "https://example.com/a/b", "https://example.com/a/b", "a backslash in a special URL"},
		{https, "http://", "http://", "http://", "an empty host"},
		{https, "http://a b/", "http://a b/", "http://a b/", "an invalid host"},
		{https, "/plain", "https://example.com/plain", "https://example.com/plain", ""},
	}
	for _, tt := range tests {
		got, kinds := w3libForm(tt.base, tt.raw, tt.got)
		if got != tt.want || tt.kind != "" && !slices.Contains(kinds, tt.kind) || tt.kind == "" && len(kinds) > 0 {
			t.Errorf("w3libForm(%q, %q) = %q, %q; want %q, %q", tt.raw, tt.got, got, kinds, tt.want, tt.kind)
		}
	}
}
