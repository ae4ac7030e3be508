package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/htmltree"
)

// abiVersion is the guest ABI version this module follows.
const abiVersion = 1

// Codes of the error envelope.
const (
	codeInvalidArgument = "INVALID_ARGUMENT"
	codeInternal        = "INTERNAL"
)

// request is the JSON the host passes next to the document.
type request struct {
	URL       string   `json:"url"`
	Mode      string   `json:"mode"`
	Selectors []string `json:"selectors"`
}

// shim holds the guest's state between calls: the buffers the host
// allocated, and the last result, which must stay where the host reads it
// until its next call.
type shim struct {
	// The extractors for a document as HTML and as an encoded tree; tests
	// replace them.
	extract     func(page string, req article.Request) (*article.Result, error)
	extractTree func(tree []byte, req article.Request) (*article.Result, error)

	// live keeps the host's buffers referenced, so that the collector
	// leaves them alone until riptide_free, keyed by address.
	live map[uintptr][]byte

	result bytes.Buffer // reused: the next call overwrites it
	modes  []byte
}

func newShim() *shim {
	modes, err := json.Marshal(article.Modes())
	if err != nil {
		panic(err) // a []string always encodes
	}
	return &shim{extract: article.Extract, extractTree: extractTree, live: make(map[uintptr][]byte), modes: modes}
}

// extractTree rebuilds the document the host parsed and extracts from it.
// The host parses with the same golang.org/x/net/html as article.Extract,
// so the answer is the same as for the HTML.
func extractTree(tree []byte, req article.Request) (*article.Result, error) {
	root, err := htmltree.Decode(tree)
	if err != nil {
		return nil, fmt.Errorf("the host's document tree: %w", err)
	}
	return article.ExtractNode(root, req)
}

// alloc returns a buffer of size bytes for the host, kept until free.
func (s *shim) alloc(size uint32) []byte {
	if size == 0 {
		return nil
	}
	b := make([]byte, size)
	s.live[addr(b)] = b
	return b
}

// free drops a buffer alloc returned. Unknown pointers are ignored: the host
// owns its pointers, and a stale one must not crash the guest.
func (s *shim) free(ptr uintptr) {
	delete(s.live, ptr)
}

// reset forgets everything a call left behind.
func (s *shim) reset() {
	clear(s.live)
	s.result = bytes.Buffer{}
	runtime.GC()
}

// handle runs one extraction of an HTML document and returns the result
// envelope, which stays valid until the next call of handle, handleTree or
// reset.
func (s *shim) handle(opts []byte, page string) []byte {
	return s.respond(opts, func(req article.Request) (*article.Result, error) { return s.extract(page, req) })
}

// handleTree is handle for a document the host parsed, encoded by package
// htmltree. tree is only read during the call.
func (s *shim) handleTree(opts, tree []byte) []byte {
	return s.respond(opts, func(req article.Request) (*article.Result, error) { return s.extractTree(tree, req) })
}

// respond decodes the request, runs extract and writes the envelope.
func (s *shim) respond(opts []byte, extract func(article.Request) (*article.Result, error)) []byte {
	s.result.Reset()
	res, err := s.run(opts, extract)
	if err == nil {
		s.result.WriteString(`{"ok":`)
		enc := json.NewEncoder(&s.result)
		enc.SetEscapeHTML(false) // smaller and faster; the host reads JSON, not HTML
		if err = enc.Encode(res); err == nil {
			s.result.WriteByte('}')
			return s.result.Bytes()
		}
		s.result.Reset()
		err = fmt.Errorf("encoding the result: %w", err)
	}
	code := codeInternal
	if errors.Is(err, errBadRequest) || errors.Is(err, article.ErrUnknownMode) ||
		errors.Is(err, article.ErrInvalidSelector) || errors.Is(err, article.ErrEmptyDocument) {
		code = codeInvalidArgument
	}
	env := struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{}
	env.Error.Code, env.Error.Message = code, err.Error()
	json.NewEncoder(&s.result).Encode(env) // two strings always encode
	return s.result.Bytes()
}

var errBadRequest = errors.New("malformed request")

// run decodes the request and extracts, turning a panic of the extractor
// into an error: one bad page must not take the instance down.
func (s *shim) run(opts []byte, extract func(article.Request) (*article.Result, error)) (res *article.Result, err error) {
	var req request
	if err := json.Unmarshal(opts, &req); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("extractor panicked: %v", r)
		}
	}()
	return extract(article.Request{URL: req.URL, Mode: req.Mode, Selectors: req.Selectors})
}
