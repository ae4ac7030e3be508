package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/htmltree"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"golang.org/x/net/html"
)

const page = `<html lang="en"><head><title>T</title></head><body><article><h1>T</h1>
<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</p>
</article></body></html>`

// decoded is the envelope as the host reads it.
type decoded struct {
	OK    *article.Result `json:"ok"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decode(t *testing.T, env []byte) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal(env, &d); err != nil {
		t.Fatalf("envelope %q is not JSON: %v", env, err)
	}
	if (d.OK == nil) == (d.Error == nil) {
		t.Fatalf("envelope %q: want exactly one of ok and error", env)
	}
	return d
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name     string
		opts     string
		page     string
		wantCode string // "" for ok
	}{
		{"default mode", `{"url":"https://example.com/a"}`, page, ""},
		{"each field", `{"url":"","mode":"custom","selectors":["h1"]}`, page, ""},
		{"unknown fields", `{"mode":"full","future":1}`, page, ""},
		{"unknown mode", `{"mode":"nope"}`, page, codeInvalidArgument},
		{"bad selector", `{"mode":"custom","selectors":["[["]}`, page, codeInvalidArgument},
		{"empty document", `{}`, "", codeInvalidArgument},
		{"malformed request", `{"mode":`, page, codeInvalidArgument},
		{"request not an object", `[1]`, page, codeInvalidArgument},
	}
	s := newShim()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := s.handle([]byte(tt.opts), tt.page)
			d := decode(t, env)
			switch {
			case tt.wantCode == "" && d.Error != nil:
				t.Errorf("error %+v; want ok", *d.Error)
			case tt.wantCode != "" && (d.Error == nil || d.Error.Code != tt.wantCode || d.Error.Message == ""):
				t.Errorf("envelope %s; want error %s", env, tt.wantCode)
			}
			if tt.wantCode == "" && !bytes.HasPrefix(env, []byte(`{"ok":{`)) {
				t.Errorf("envelope %.20q...: want the host's fast path, {\"ok\":{", env)
			}
		})
	}
}

func TestHandleMatchesNative(t *testing.T) {
	s := newShim()
	req := article.Request{URL: "https://example.com/a", Mode: article.ModeFull}
	want, err := article.Extract(page, req)
	if err != nil {
		t.Fatal(err)
	}
	d := decode(t, s.handle([]byte(`{"url":"https://example.com/a","mode":"full"}`), page))
	if fmt.Sprint(*d.OK) != fmt.Sprint(*want) {
		t.Errorf("shim %+v\nnative %+v", *d.OK, *want)
	}
}

// encodeTree is what the host does for riptide_extract_tree.
func encodeTree(t *testing.T, page string) []byte {
	t.Helper()
	root, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := htmltree.Append(nil, root)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// TestHandleTreeMatchesHandle checks that a document given as a tree gets
// the very envelope it gets as HTML, in every mode, on the corpus.
func TestHandleTreeMatchesHandle(t *testing.T) {
	opts := []string{`{"url":"https://example.com/a"}`, `{"mode":"full"}`, `{"mode":"metadata"}`,
		`{"mode":"custom","selectors":["h1","p a[href]"]}`, `{"mode":"nope"}`}
	s := newShim()
	check := func(t *testing.T, pages []testenv.Page) {
		for _, p := range pages {
			tree := encodeTree(t, p.Source)
			for _, o := range opts {
				want := string(s.handle([]byte(o), p.Source))
				if got := string(s.handleTree([]byte(o), tree)); got != want {
					t.Errorf("%s, %s: as a tree\n%.300s\nas HTML\n%.300s", p.Name, o, got, want)
				}
			}
		}
	}
	t.Run("inline", func(t *testing.T) { check(t, []testenv.Page{{Name: "inline", Source: page}}) })
	t.Run("corpus", func(t *testing.T) {
		if testing.Short() {
			t.Skip("slow: every corpus page in every mode")
		}
		check(t, testenv.CorpusPages(t))
	})
}

func TestHandleTreeMalformed(t *testing.T) {
	s := newShim()
	tree := encodeTree(t, page)
	d := decode(t, s.handleTree([]byte(`{}`), tree[:len(tree)-1]))
	if d.Error == nil || d.Error.Code != codeInternal || !strings.Contains(d.Error.Message, "the host's document tree: htmltree: malformed") {
		t.Errorf("error %+v; want INTERNAL about the host's tree", d.Error)
	}
	// The instance's next call is unaffected.
	if d := decode(t, s.handleTree([]byte(`{}`), tree)); d.OK == nil || d.OK.Title != "T" {
		t.Errorf("after a malformed tree: %+v", d)
	}
}

func TestHandleRecoversPanics(t *testing.T) {
	s := newShim()
	s.extract = func(string, article.Request) (*article.Result, error) { panic("boom") }
	d := decode(t, s.handle([]byte(`{}`), page))
	if d.Error == nil || d.Error.Code != codeInternal || d.Error.Message != "extractor panicked: boom" {
		t.Errorf("error %+v; want INTERNAL extractor panicked: boom", d.Error)
	}
	s.extract = func(string, article.Request) (*article.Result, error) { return nil, errors.New("odd page") }
	if d := decode(t, s.handle([]byte(`{}`), page)); d.Error == nil || d.Error.Code != codeInternal {
		t.Errorf("error %+v; want INTERNAL", d.Error)
	}
	s.extractTree = func([]byte, article.Request) (*article.Result, error) { panic("boom") }
	if d := decode(t, s.handleTree([]byte(`{}`), nil)); d.Error == nil || d.Error.Message != "extractor panicked: boom" {
		t.Errorf("tree: error %+v; want INTERNAL extractor panicked: boom", d.Error)
	}
}

func TestResultBufferIsReused(t *testing.T) {
	s := newShim()
	first := s.handle([]byte(`{}`), page)
	firstAddr, firstCap := addr(first), cap(first)
	second := s.handle([]byte(`{}`), page)
	if addr(second) != firstAddr || cap(second) != firstCap {
		t.Error("the result buffer was not reused for a result of the same size")
	}
}

func TestAllocFree(t *testing.T) {
	s := newShim()
	if b := s.alloc(0); b != nil {
		t.Errorf("alloc(0) = %d bytes; want nil (address 0)", len(b))
	}
	a, b := s.alloc(100), s.alloc(1<<16)
	if len(a) != 100 || len(b) != 1<<16 || len(s.live) != 2 {
		t.Fatalf("alloc: sizes %d, %d, %d live", len(a), len(b), len(s.live))
	}
	s.free(addr(a))
	s.free(addr(a)) // twice: ignored
	s.free(12345)   // unknown: ignored
	if len(s.live) != 1 {
		t.Errorf("%d live after free; want 1", len(s.live))
	}
	s.handle([]byte(`{}`), page)
	s.reset()
	if len(s.live) != 0 || s.result.Cap() != 0 {
		t.Errorf("after reset: %d live, result capacity %d", len(s.live), s.result.Cap())
	}
}

func TestModes(t *testing.T) {
	var modes []string
	if err := json.Unmarshal(newShim().modes, &modes); err != nil || fmt.Sprint(modes) != fmt.Sprint(article.Modes()) {
		t.Errorf("modes %s, %v; want %q", newShim().modes, err, article.Modes())
	}
}

// FuzzHandle checks that any request and document give a well-formed
// envelope: the request JSON comes from the host, the document from anyone.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"url":"https://example.com/","mode":"article"}`), page)
	f.Add([]byte(`{"mode":"custom","selectors":["p","a[href]"]}`), page)
	f.Add([]byte(`{"mode":"metadata"}`), "<title>x")
	f.Add([]byte(`{"mode":`), "")
	f.Add([]byte(`null`), "\xff\xfe<p>")
	s := newShim()
	f.Fuzz(func(t *testing.T, opts []byte, page string) {
		decode(t, s.handle(opts, page))
	})
}
