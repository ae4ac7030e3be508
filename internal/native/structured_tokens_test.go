package native

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// xnetTokens lists x/net/html's tokens of src, one line each.
func xnetTokens(src string, cdata bool) []string {
	z := html.NewTokenizer(strings.NewReader(src))
	var out []string
	for {
		z.AllowCDATA(cdata)
		tt := z.Next()
		raw := string(z.Raw())
		switch tt {
		case html.ErrorToken:
			return out
		case html.TextToken:
			out = append(out, fmt.Sprintf("text %q %q", raw, z.Text()))
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			line := fmt.Sprintf("%v %q %s", tt, raw, name)
			for {
				k, v, more := z.TagAttr()
				if k == nil && !more {
					break
				}
				line += fmt.Sprintf(" %s=%q", k, v)
				if !more {
					break
				}
			}
			out = append(out, line)
		case html.EndTagToken:
			name, _ := z.TagName()
			out = append(out, fmt.Sprintf("end %q %s", raw, name))
		default:
			out = append(out, fmt.Sprintf("%v %q", tt, raw))
		}
	}
}

// mdTokenList lists mdTokens's tokens of src as xnetTokens does.
func mdTokenList(src string, cdata bool) []string {
	z := newMDTokens(src)
	var out []string
	for {
		z.AllowCDATA(cdata)
		tt := z.Next()
		raw := z.Raw()
		switch tt {
		case html.ErrorToken:
			return out
		case html.TextToken:
			out = append(out, fmt.Sprintf("text %q %q", raw, z.Text()))
		case html.StartTagToken, html.SelfClosingTagToken:
			w := mdWalker{z: z}
			name, _ := w.tagName(false)
			line := fmt.Sprintf("%v %q %s", tt, raw, name)
			z.attributes(func(k, v []byte) { line += fmt.Sprintf(" %s=%q", k, v) })
			out = append(out, line)
		case html.EndTagToken:
			w := mdWalker{z: z}
			name, _ := w.tagName(true)
			out = append(out, fmt.Sprintf("end %q %s", raw, name))
		default:
			out = append(out, fmt.Sprintf("%v %q", tt, raw))
		}
	}
}

func checkTokens(t *testing.T, src string) {
	t.Helper()
	if strings.IndexByte(src, 0) >= 0 {
		return // mdTokens is never given a NUL
	}
	for _, cdata := range []bool{false, true} {
		want, got := xnetTokens(src, cdata), mdTokenList(src, cdata)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Fatalf("tokens of %q (cdata %v):\nx/net/html:\n%s\nmdTokens:\n%s", src, cdata, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
}

var tokenCases = []string{
	``, `text`, `<`, `a < b`, `<3`, `</`, `</>`, `</ x>`, `</3>`, `<?xml x?>`, `<!`, `<!-`, `<!--`, `<!-->`,
	`<!--->`, `<!---->`, `<!-- c -->`, `<!-- c --!>`, `<!-- c --!-->`, `<!--a-!>b-->`, `<!---!>-->`, `<!DOCTYPE html>`,
	`<!doctype`, `<!DOCTY`, `<!x>`, `<![CDATA[x]]>`, `<![cdata[x]]>`, `<a>`, `<A HREF=x>`, `<a href="x">`,
	`<a href='x' b>`, `<a b c=d e = "f" g=h/>`, `<br/>`, `<p a=/>`, `<p a="/"/>`, `<p =x>`, `<p ==x>`,
	`<p a==b>`, `<p a b=>`, `<p a="b`, `<p a`, `<p a=`, `<p/a/b>`, `<p/ >`, `<p a=1 A=2 a=3>`, `<div/`,
	`<a href="?x=1&amp;y=2&copy">`, `<a href=&lt;>`, `text &amp; more &lt`, "a\r\nb\rc", `<p title="a` + "\r\n" + `b">`,
	`<script>a</script>`, `<script>if (a<b) x</SCRIPT >`, `<script>x</scriptx></script/>`, `<script><!--<script>x</script>--></script>y`,
	`<script>never`, `<style>p{}</style>`, `<title>a &amp; b</title>`, `<textarea>` + "\n" + `x&lt;</textarea>`,
	`<xmp><b></xmp>`, `<noscript><p></noscript>`, `<iframe><p></iframe>`, `<plaintext><p></plaintext>`,
	`<scRipt>x</sCript>`, `<script data-x="<!--">a</script>`, `<script a="</script>">b<!--c</script>`,
	`<svg><![CDATA[x<y]]></svg>`, `<html><head><meta charset=utf-8></head><body class=" a ">x</body></html>`,
}

func TestMDTokensMatchXNet(t *testing.T) {
	for _, src := range tokenCases {
		checkTokens(t, src)
	}
	// Random pages from the same pieces.
	r := rand.New(rand.NewPCG(7, 11))
	for range 5000 {
		var b strings.Builder
		for range 1 + r.IntN(8) {
			piece := tokenCases[r.IntN(len(tokenCases))]
			if len(piece) > 0 && r.IntN(4) == 0 {
				piece = piece[:r.IntN(len(piece))]
			}
			b.WriteString(piece)
		}
		checkTokens(t, b.String())
	}
}

func TestMDTokensCorpus(t *testing.T) {
	_, pages := loadAnchors(t)
	for i, p := range pages {
		if raceEnabled && i%10 != 0 {
			continue // the race detector slows this tenfold: every tenth page
		}
		checkTokens(t, p.src)
	}
}

func FuzzMDTokens(f *testing.F) {
	for _, s := range tokenCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		checkTokens(t, src)
	})
}
