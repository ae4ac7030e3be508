package htmltree

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// FuzzRoundTrip checks that every tree html.Parse makes survives encoding
// and decoding unchanged.
func FuzzRoundTrip(f *testing.F) {
	for _, tc := range roundTripDocs {
		if len(tc.src) < 1000 {
			f.Add(tc.src)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		root, err := html.Parse(strings.NewReader(src))
		if err != nil {
			t.Skip()
		}
		checkReencodes(t, root)
	})
}

// checkReencodes checks that root encodes, and decodes to a tree equal to
// it.
func checkReencodes(t *testing.T, root *html.Node) {
	t.Helper()
	b, err := Append(nil, root)
	if err != nil {
		t.Fatalf("the tree is not encodable: %v", err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := equal(root, got); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecode feeds Decode arbitrary bytes: it must refuse them with
// ErrMalformed or return a tree that encodes and decodes to itself.
func FuzzDecode(f *testing.F) {
	for _, src := range []string{"", "<p id=a>x", "<svg><use xlink:href=#a/></svg><!--c-->"} {
		root, _ := html.Parse(strings.NewReader(src))
		b, _ := Append(nil, root)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		root, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		checkReencodes(t, root)
	})
}
