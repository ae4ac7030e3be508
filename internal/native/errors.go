package native

import (
	"errors"
	"fmt"
)

// Errors reported for the document or the result. They are returned wrapped
// with detail, so test for them with errors.Is.
var (
	// ErrEmptyDocument reports a document with no bytes (or a nil *Document).
	ErrEmptyDocument = errors.New("native: empty document")
	// ErrDocumentTooLarge reports a document over Limits.MaxDocumentBytes,
	// before or after decoding to UTF-8.
	ErrDocumentTooLarge = errors.New("native: document too large")
	// ErrResultTooLarge reports a result whose returned bytes add up to more
	// than Limits.MaxResultBytes.
	ErrResultTooLarge = errors.New("native: result too large")
	// ErrUnparsable reports a document the HTML parser gives up on, such
	// as one nested deeper than golang.org/x/net/html allows (512 open
	// elements). It is the document's fault, not the extractor's.
	ErrUnparsable = errors.New("native: document cannot be parsed")
	// ErrClosed reports use of an extractor after Close.
	ErrClosed = errors.New("native: extractor closed")
)

// Causes found inside a *SpecError, for callers that want to tell an empty
// or oversized value from a syntax error.
var (
	ErrEmptyValue = errors.New("empty")
	ErrTooLong    = errors.New("too long")
)

// SpecError reports an invalid field of a CSSSpec or RegexSpec: a selector
// or pattern that does not compile, is empty or is over its length limit, an
// attribute name that cannot occur in HTML, a negative limit or an unknown
// enum value. Field is one of "selector", "pattern", "attribute", "limit",
// "output" or "source"; it names the request field a client got wrong.
type SpecError struct {
	Field string
	Value string
	Err   error
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("native: invalid %s %q: %v", e.Field, clip(e.Value, 80), e.Err)
}

func (e *SpecError) Unwrap() error { return e.Err }

// clip shortens s for an error message so that a hostile multi-kilobyte
// selector does not end up whole in every log line.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Back up to a rune boundary so %q prints no broken escape.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}

func errResultTooLarge(limit int) error {
	return fmt.Errorf("%w: over %d bytes", ErrResultTooLarge, limit)
}
