package native

import (
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Microformats v1
//
// Inside a v1 root (class="hentry", "vcard", ...) mf2py rewrites the
// class names of the root's descendants, down to and including the next
// root, before parsing them as microformats2: it drops their mf2
// property names, then adds the mf2 names of their v1 names (entry-title
// gives p-name, author gives p-author and h-card, ...) and of their rel
// values (rel=bookmark gives u-url; rel=tag adds a p-category whose value
// is the link's last path segment). The rules are mf2py's (its
// backcompat-rules), which are the microformats wiki's.

// bcRule adds the class names add to an element whose class names (or,
// for a rel rule, rel values) hold all of old.
type bcRule struct {
	old, add []string
	rel      bool
}

// bcRoot is a v1 root: its mf2 types and its rules.
type bcRoot struct {
	types []string
	rules []bcRule
}

// rules builds rules from pairs of "old names" and "added names".
func rules(rel bool, pairs ...string) []bcRule {
	out := make([]bcRule, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, bcRule{old: strings.Fields(pairs[i]), add: strings.Fields(pairs[i+1]), rel: rel})
	}
	return out
}

// backcompat maps each v1 root class name to its rules. vevent's "geo"
// rule is left out: mf2py's adds the one class name "p-location h-geo",
// which names nothing.
var backcompat = map[string]bcRoot{
	"adr": {[]string{"h-adr"}, rules(false,
		"locality", "p-locality", "region", "p-region", "extended-address", "p-extended-address",
		"post-office-box", "p-post-office-box", "street-address", "p-street-address",
		"postal-code", "p-postal-code", "country-name", "p-country-name")},
	"geo": {[]string{"h-geo"}, rules(false, "latitude", "p-latitude", "longitude", "p-longitude")},
	"hentry": {[]string{"h-entry"}, append(rules(false,
		"category", "p-category", "entry-title", "p-name", "published", "dt-published",
		"latitude", "p-latitude", "entry-content", "e-content", "entry-summary", "p-summary",
		"author", "p-author h-card", "geo", "p-geo h-geo", "updated", "dt-updated",
		"longitude", "p-longitude"),
		rules(true, "bookmark", "u-url", "tag", "p-category")...)},
	"hfeed": {[]string{"h-feed"}, append(rules(false,
		"category", "p-category", "site-description", "p-summary", "description", "p-summary",
		"site-title", "p-name", "title", "p-name"),
		rules(true, "tag", "p-category")...)},
	"hproduct": {[]string{"h-product"}, rules(false,
		"category", "p-category", "price", "p-price", "description", "p-description",
		"url", "u-url", "photo", "u-photo", "brand", "p-brand", "identifier", "u-identifier",
		"review", "p-review h-review", "fn", "p-name")},
	"hrecipe": {[]string{"h-recipe"}, append(rules(false,
		"nutrition", "p-nutrition", "yield", "p-yield", "author", "p-author h-card",
		"duration", "dt-duration", "photo", "u-photo", "instructions", "e-instructions",
		"summary", "p-summary", "fn", "p-name", "ingredient", "p-ingredient",
		"category", "p-category"),
		rules(true, "tag", "p-category")...)},
	"hresume": {[]string{"h-resume"}, rules(false,
		"experience", "h-event p-experience", "summary", "p-summary",
		"affiliation", "p-affiliation h-card", "contact", "h-card p-contact",
		"skill", "p-skill", "education", "h-event p-education")},
	"hreview-aggregate": {[]string{"h-review-aggregate"}, rules(false,
		"rating", "p-rating", "description", "p-description", "photo", "u-photo",
		"worst", "p-worst", "reviewer", "p-reviewer p-author h-card", "best", "p-best",
		"count", "p-count", "votes", "p-votes", "dtreviewed", "dt-reviewed", "url", "u-url",
		"summary", "p-name", "fn", "p-item h-item p-name")},
	"hreview": {[]string{"h-review"}, append(rules(false,
		"rating", "p-rating", "worst", "p-worst", "dtreviewed", "dt-reviewed",
		"reviewer", "p-author h-card", "url", "p-item h-item u-url",
		"photo", "p-item h-item u-photo", "best", "p-best", "description", "p-description",
		"fn", "p-item h-item p-name", "summary", "p-name", "item vcard", "p-item vcard",
		"item vevent", "p-item vevent", "item hproduct", "p-item hproduct"),
		rules(true, "self bookmark", "u-url", "tag", "p-category")...)},
	"vcard": {[]string{"h-card"}, rules(false,
		"tel", "p-tel", "honorific-suffix", "p-honorific-suffix", "family-name", "p-family-name",
		"photo", "u-photo", "logo", "u-logo", "postal-code", "p-postal-code",
		"country-name", "p-country-name", "uid", "u-uid", "category", "p-category",
		"adr", "p-adr h-adr", "locality", "p-locality", "nickname", "p-nickname",
		"label", "p-label", "note", "p-note", "street-address", "p-street-address",
		"latitude", "p-latitude", "email", "u-email", "bday", "dt-bday",
		"extended-address", "p-extended-address", "additional-name", "p-additional-name",
		"organization-unit", "p-organization-unit", "given-name", "p-given-name",
		"key", "u-key", "org", "p-org", "honorific-prefix", "p-honorific-prefix",
		"geo", "p-geo h-geo", "fn", "p-name", "url", "u-url", "region", "p-region",
		"longitude", "p-longitude", "organization-name", "p-organization-name",
		"title", "p-job-title", "role", "p-role")},
	"vevent": {[]string{"h-event"}, rules(false,
		"attendee", "p-attendee", "description", "p-description", "duration", "dt-duration",
		"dtend", "dt-end", "dtstart", "dt-start", "organizer", "p-organizer",
		"category", "p-category", "url", "u-url", "summary", "p-name",
		"contact", "p-contact", "location", "p-location")},
}

// bcRulesOf returns the rules of the v1 roots roots, in order.
func bcRulesOf(roots []string) []bcRule {
	var out []bcRule
	for _, r := range roots {
		out = append(out, backcompat[r].rules...)
	}
	return out
}

// bcApply returns the class names of el, written as classes, once each
// set of rules in sets has rewritten them in turn, and the p-category
// values its rel=tag gives.
func bcApply(el *html.Node, classes []string, sets [][]bcRule) (_ []string, tags []string) {
	if len(sets) == 0 {
		return classes, nil
	}
	var rels []string
	relRead := false
	for _, set := range sets {
		classes = slices.DeleteFunc(slices.Clone(classes), func(c string) bool { return mfPrefixed(c) && mf2Prop.MatchString(c) })
		for _, r := range set {
			if !r.rel {
				if containsAll(classes, r.old) {
					classes = appendNew(classes, r.add)
				}
				continue
			}
			if !relRead {
				rels, relRead = strings.Fields(attrOr(el, "rel")), true
			}
			if !containsAll(rels, r.old) {
				continue
			}
			if !slices.Contains(r.old, "tag") {
				classes = appendNew(classes, r.add)
				continue
			}
			if seg := lastSegment(attrOr(el, "href")); seg != "" {
				tags = append(tags, pyUnquote(seg))
				rels = slices.DeleteFunc(rels, func(r string) bool { return r == "tag" })
			}
		}
	}
	return classes, tags
}

func containsAll(set, of []string) bool {
	for _, x := range of {
		if !slices.Contains(set, x) {
			return false
		}
	}
	return true
}

func appendNew(to, add []string) []string {
	for _, a := range add {
		if !slices.Contains(to, a) {
			to = append(to, a)
		}
	}
	return to
}

// lastSegment is the last non-empty part of href split at slashes.
func lastSegment(href string) string {
	href = strings.TrimRight(href, "/")
	if i := strings.LastIndexByte(href, '/'); i >= 0 {
		return href[i+1:]
	}
	return href
}

// pyUnquote decodes %XX escapes as Python's urllib.parse.unquote does:
// an escape that is not one stays as written, and bytes that are not
// UTF-8 become U+FFFD.
func pyUnquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
