package htmltree

import (
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"golang.org/x/net/html"
)

// BenchmarkCorpus compares, on the corpus' median page, the work of a host
// that parses and encodes a document with what a guest saves: decoding
// against parsing.
//
//	go test -run '^$' -bench Corpus -count 8 ./internal/htmltree | benchstat -col /op -
func BenchmarkCorpus(b *testing.B) {
	pages := testenv.CorpusPages(b)
	page := pages[len(pages)/2]
	root, err := html.Parse(strings.NewReader(page.Source))
	if err != nil {
		b.Fatal(err)
	}
	enc, err := Append(nil, root)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d bytes of HTML, %d bytes encoded", page.Name, len(page.Source), len(enc))
	b.Run("op=parse", func(b *testing.B) {
		b.SetBytes(int64(len(page.Source)))
		for b.Loop() {
			html.Parse(strings.NewReader(page.Source))
		}
	})
	b.Run("op=encode", func(b *testing.B) {
		b.SetBytes(int64(len(page.Source)))
		buf := make([]byte, len(enc))
		for b.Loop() {
			p, _ := Measure(root)
			p.Encode(buf)
		}
	})
	b.Run("op=decode", func(b *testing.B) {
		b.SetBytes(int64(len(page.Source)))
		for b.Loop() {
			Decode(enc)
		}
	})
}
