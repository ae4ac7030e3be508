// Package article extracts the readable content and the metadata of an HTML
// page: the logic of the bundled "article" WASM module.
//
// It is an ordinary Go package, tested natively, that the guest shim
// (GOOS=wasip1) and the daemon's native fallback both call, so the two
// answer the same thing for the same page. Main-content detection and most
// metadata come from codeberg.org/readeck/go-readability (a port of
// Mozilla's Readability.js); this package adds a cleaning pass that removes
// the boilerplate readability keeps inside an article (clean.go), a
// metadata pass for dates, authors, categories and tags
// (internal/article/metadata), the trimming of the short lines that follow
// the text (tail.go), a second, paragraph-based extraction whose paragraphs
// join the content where readability missed them (merge.go), the lead
// that the page's meta description quotes where the content left it out
// (lead.go), the author's name that signs the content where the page
// names none elsewhere (signature.go), link and media collection, a
// markdown rendering, word counts and a quality score, and the "full",
// "metadata" and "custom" modes.
//
// The package keeps no state between calls and is safe for concurrent use.
package article

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	readability "codeberg.org/readeck/go-readability/v2"
	"github.com/andybalholm/cascadia"
	"github.com/riptidecrawler/riptide-poold/internal/article/metadata"
	"golang.org/x/net/html"
)

// The extraction modes.
const (
	ModeArticle  = "article"  // main content, readability-style, with metadata
	ModeFull     = "full"     // the whole page's visible text, links and media, with metadata
	ModeMetadata = "metadata" // metadata only: no text, content_html, markdown, links or media
	ModeCustom   = "custom"   // metadata plus the texts matched by CSS selectors
)

// Errors a caller can cause. The guest reports them as INVALID_ARGUMENT;
// they are always wrapped with details, so test with errors.Is.
var (
	ErrUnknownMode     = errors.New("article: unknown mode")
	ErrInvalidSelector = errors.New("article: invalid CSS selector")
	ErrEmptyDocument   = errors.New("article: empty document")
)

// Modes returns the supported modes, the default first.
func Modes() []string {
	return []string{ModeArticle, ModeFull, ModeMetadata, ModeCustom}
}

// Request says what to extract.
type Request struct {
	// URL is the page's address, the base for resolving relative links
	// (a <base href> in the page takes precedence, as in a browser). It may
	// be empty, in which case relative links stay relative.
	URL string
	// Mode is one of Modes(); empty means ModeArticle.
	Mode string
	// Selectors are the CSS selectors answered in ModeCustom.
	Selectors []string
}

// Result is what an extraction found. Its JSON form is the module's output.
//
// Which fields a mode fills:
//
//	field                              article  full       metadata  custom
//	url, title, byline, ..., dir       yes      yes        yes       yes
//	text, content_html, markdown       main     whole page -         -
//	links, media                       main     whole page -         -
//	word_count, reading_time, quality  main     whole page main      main
//	selectors                          -        -          -         yes
//
// "main" is the main content found by the readability pass; a page without
// one (too short, or no text) has empty body fields and a word count of 0,
// and is not an error. In modes article and full, links and media are never
// nil, so they encode as [] rather than null.
type Result struct {
	URL    string `json:"url"`
	Title  string `json:"title"`
	Byline string `json:"byline"`
	// Authors are the page's authors as a list of names, from structured
	// data (JSON-LD, meta tags) or the byline; omitted when none is found.
	Authors       []string `json:"authors,omitempty"`
	PublishedTime string   `json:"published_time"` // RFC 3339, empty when unknown
	SiteName      string   `json:"site_name"`
	Description   string   `json:"description"` // the excerpt
	Lang          string   `json:"lang"`
	Dir           string   `json:"dir"` // "ltr", "rtl" or empty
	// Categories and Tags are the sections and keywords the page declares
	// for itself (JSON-LD articleSection and keywords, article:section and
	// article:tag meta tags, rel=category and rel=tag links); omitted when
	// none is found.
	Categories []string `json:"categories,omitempty"`
	Tags       []string `json:"tags,omitempty"`

	Text        string `json:"text"`
	ContentHTML string `json:"content_html"`
	Markdown    string `json:"markdown"`

	Links []Link  `json:"links"`
	Media []Media `json:"media"`

	WordCount          int     `json:"word_count"`
	ReadingTimeMinutes float64 `json:"reading_time_minutes"` // WordCount at 238 words a minute, to 0.1
	QualityScore       int     `json:"quality_score"`        // 0-100, see QualityScore

	Selectors map[string][]string `json:"selectors,omitempty"` // ModeCustom: selector -> texts of all matches
}

// Link is a hyperlink, its URL resolved to an absolute one where a base is
// known.
type Link struct {
	URL  string `json:"url"`
	Text string `json:"text"`
}

// Media types.
const (
	MediaImage = "image"
	MediaVideo = "video"
	MediaAudio = "audio"
)

// Media is an image, a video or an audio element's source.
type Media struct {
	URL  string `json:"url"`
	Type string `json:"type"`
	Alt  string `json:"alt"`
}

// Extract parses page, UTF-8 HTML, and extracts what req asks for.
func Extract(page string, req Request) (*Result, error) {
	p, err := newPlan(req)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(page) == "" {
		return nil, ErrEmptyDocument
	}
	root, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, fmt.Errorf("article: parsing HTML: %w", err)
	}
	return p.extract(root)
}

// ExtractNode is Extract for a document its caller already parsed with
// golang.org/x/net/html. It takes ownership of root: the tree is modified
// (the readability pass moves and removes nodes), so a caller that still
// needs it must pass a copy.
func ExtractNode(root *html.Node, req Request) (*Result, error) {
	p, err := newPlan(req)
	if err != nil {
		return nil, err
	}
	if root == nil || root.FirstChild == nil {
		return nil, ErrEmptyDocument
	}
	return p.extract(root)
}

// plan is a checked request, its selectors compiled.
type plan struct {
	url       string
	mode      string
	selectors []compiledSelector
}

// newPlan reports a caller error before any work is done.
func newPlan(req Request) (*plan, error) {
	p := &plan{url: req.URL, mode: req.Mode}
	switch req.Mode {
	case "":
		p.mode = ModeArticle
	case ModeArticle, ModeFull, ModeMetadata:
	case ModeCustom:
		if len(req.Selectors) == 0 {
			return nil, fmt.Errorf("%w: mode %q needs at least one selector", ErrInvalidSelector, ModeCustom)
		}
		p.selectors = make([]compiledSelector, len(req.Selectors))
		for i, src := range req.Selectors {
			sel, err := cascadia.ParseGroup(src)
			if err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrInvalidSelector, src, err)
			}
			p.selectors[i] = compiledSelector{src: src, sel: sel}
		}
	default:
		return nil, fmt.Errorf("%w %q (want one of %s)", ErrUnknownMode, req.Mode, strings.Join(Modes(), ", "))
	}
	return p, nil
}

func (p *plan) extract(root *html.Node) (*Result, error) {
	mode := p.mode
	base := baseURL(root, p.url)
	res := &Result{URL: p.url}
	// The readability library does not report the text direction, which
	// Readability.js takes from the nearest ancestor of the main content
	// that declares one. The tree is taken apart before that ancestor is
	// known, so the direction is read from body and html now, and from the
	// top of the main content below: right on every page of the corpus.
	dir := documentDir(root)

	// Everything that needs the page as it was runs before the readability
	// pass, which takes the tree apart.
	var page *content
	switch mode {
	case ModeFull:
		body := findElement(root, "body")
		if body == nil {
			body = root
		}
		prepareFull(body, base)
		page = analyze(body, base, true)
		res.ContentHTML = renderHTML(body, 2*len(page.text))
	case ModeCustom:
		res.Selectors = selectAll(root, p.selectors)
	}

	// The metadata pass reads the tree before readability takes it apart.
	md := metadata.Extract(root, p.url)

	parser := readability.NewParser()
	// The cleaning pass below reads the content's classes; it strips them
	// after, as the readability pass would have.
	parser.KeepClasses = true
	art, err := parser.ParseAndMutate(root, base)
	if err != nil {
		return nil, fmt.Errorf("article: readability: %w", err)
	}
	setMetadata(res, &art)
	addMetadata(res, &md)

	if page == nil && art.Node != nil {
		// The main content; a page without one leaves the body fields empty.
		clean(art.Node)
		if mode == ModeArticle {
			// A page that names its author nowhere else may sign the
			// article at its end, where the tail trim is about to cut.
			if len(res.Authors) == 0 && res.Byline == "" {
				if name := signature(art.Node); name != "" {
					res.Authors = []string{name}
				}
			}
			// What the content ends with that is not the article's, then
			// the article's paragraphs the readability pass missed.
			trimTail(art.Node)
			mergeParagraphs(art.Node, root, base)
			addLead(art.Node, root, md.Descriptions, base)
		}
		stripClasses(art.Node, parser.ClassesToPreserve)
		page = analyze(art.Node, base, mode == ModeArticle)
		if d := attr(art.Node, "dir"); d != "" {
			dir = d
		} else if c := firstElementChild(art.Node); c != nil && attr(c, "dir") != "" {
			dir = attr(c, "dir")
		}
		if mode == ModeArticle {
			res.ContentHTML = renderHTML(art.Node, 2*len(page.text))
		}
	}
	// A page that names no author anywhere is the site's own writing (a
	// company's press release, a one-person blog): the site's name, when
	// it reads as one, stands for its author.
	// So is a page whose copyright notice names its holder, who comes
	// first.
	if len(res.Authors) == 0 && res.Byline == "" {
		res.Authors = md.Copyright
	}
	if len(res.Authors) == 0 && res.Byline == "" {
		res.Authors = metadata.SiteAuthor(res.SiteName)
	}
	res.Dir = normalizeDir(dir)
	if page != nil {
		res.WordCount = CountWords(page.text)
		res.ReadingTimeMinutes = ReadingTime(res.WordCount)
		if mode == ModeArticle || mode == ModeFull {
			res.Text = page.text
			res.Markdown = page.markdown
			res.Links = page.links
			res.Media = page.media
		}
	}
	if (mode == ModeArticle || mode == ModeFull) && res.Links == nil {
		res.Links, res.Media = []Link{}, []Media{}
	}
	res.QualityScore = QualityScore(res, page.signals())
	return res, nil
}

// setMetadata copies the readability pass's metadata into res.
func setMetadata(res *Result, art *readability.Article) {
	res.Title = collapseSpace(art.Title())
	res.Byline = collapseSpace(art.Byline())
	res.SiteName = collapseSpace(art.SiteName())
	res.Description = art.Excerpt() // already whitespace-collapsed
	res.Lang = strings.TrimSpace(art.Language())
	if t, err := art.PublishedTime(); err == nil {
		res.PublishedTime = formatTime(t)
	}
}

// addMetadata adds what the metadata pass found to res: the authors as a
// list, categories and tags, and the publication date, which it finds on
// more pages than the readability pass and gives as the page writes it.
func addMetadata(res *Result, md *metadata.Metadata) {
	res.Authors = md.Authors
	if len(res.Authors) == 0 && res.Byline != "" {
		res.Authors = metadata.Names(res.Byline)
	}
	res.Categories, res.Tags = md.Categories, md.Tags
	if md.Published.IsZero() {
		return
	}
	if t, err := time.Parse(time.RFC3339, md.PublishedTime); err == nil && t.Format(time.DateOnly) == md.Published.String() {
		res.PublishedTime = t.Format(time.RFC3339)
		return
	}
	res.PublishedTime = md.Published.String() + "T00:00:00Z"
}

// baseURL is the document's base for relative references: the first
// <base href> resolved against pageURL, else pageURL; nil when neither is
// an absolute URL.
func baseURL(root *html.Node, pageURL string) *url.URL {
	var page *url.URL
	if u, err := url.Parse(strings.TrimSpace(pageURL)); err == nil && u.IsAbs() {
		page = u
	}
	if b := findElement(root, "base"); b != nil {
		if href := strings.TrimSpace(attr(b, "href")); href != "" {
			if ref, err := url.Parse(href); err == nil {
				if page != nil {
					return page.ResolveReference(ref)
				}
				if ref.IsAbs() {
					return ref
				}
			}
		}
	}
	return page
}
