package native

// Limits bound the work and memory of one extraction. A field that is zero
// or negative takes its value from DefaultLimits, so the zero Limits is safe
// to use.
type Limits struct {
	// MaxDocumentBytes bounds a document's size in bytes, as given and after
	// decoding to UTF-8.
	MaxDocumentBytes int
	// MaxMatches bounds the number of values or matches one call returns.
	// Cutting a result at this bound is reported as truncated, not as an
	// error.
	MaxMatches int
	// MaxResultBytes bounds the bytes one call returns, summed over all
	// values (and, for regex matches, their groups and group names). Going
	// over it is an error, ErrResultTooLarge: a result cut by size would be
	// silently wrong. Keep it below the gRPC server's message size limit.
	MaxResultBytes int
	// MaxSelectorLen bounds a CSS selector's and an attribute name's length
	// in bytes.
	MaxSelectorLen int
	// MaxPatternLen bounds a regular expression's length in bytes.
	MaxPatternLen int
	// MaxXPathSteps bounds the work of one XPath evaluation: every node
	// an axis visits, every predicate tested and every node sorted is a
	// step, and a string value costs a step per node and per 64 bytes
	// (xpath_eval.go). Going over it is a *SpecError caused by
	// ErrTooCostly.
	MaxXPathSteps int
	// MaxWork bounds, in steps of the cost model (cost.go), the worst case
	// of one call's CSS questions on its document, rendering the matches
	// included: a question over it is refused up front (ErrTooCostly).
	MaxWork int64
	// MaxElementWork bounds the worst case of matching one element, which
	// cannot be interrupted: the context is checked between elements, so
	// this bounds how long a cancelled call keeps its CPU.
	MaxElementWork int64
	// MaxHasDepth bounds the nesting of :has (and cascadia's :haschild)
	// in a selector, whatever the document.
	MaxHasDepth int
}

// DefaultLimits returns the limits used for any field left at zero.
func DefaultLimits() Limits {
	return Limits{
		MaxDocumentBytes: 16 << 20,
		MaxMatches:       10_000,
		MaxResultBytes:   4 << 20,
		MaxSelectorLen:   1024,
		MaxPatternLen:    4096,
		MaxXPathSteps:    2_000_000,
		MaxWork:          DefaultMaxWork,
		MaxElementWork:   DefaultMaxElementWork,
		MaxHasDepth:      DefaultMaxHasDepth,
	}
}

// The default work limits. A step of the cost model takes 2 to 15 ns of
// one core where the bound is reached (README, "Work limits"), so a
// question without a deadline costs at most a few seconds, and a cancelled
// call holds its core for at most some 10 to 30 ms. Ordinary selectors on
// the corpus's pages are all admitted (TestCostCorpus).
const (
	DefaultMaxWork        = 500_000_000
	DefaultMaxElementWork = 2_000_000
	DefaultMaxHasDepth    = 2
)

// normalized returns l with every unset field replaced by its default.
func (l Limits) normalized() Limits {
	d := DefaultLimits()
	orDefault := func(v, def int) int {
		if v <= 0 {
			return def
		}
		return v
	}
	orDefault64 := func(v, def int64) int64 {
		if v <= 0 {
			return def
		}
		return v
	}
	return Limits{
		MaxDocumentBytes: orDefault(l.MaxDocumentBytes, d.MaxDocumentBytes),
		MaxMatches:       orDefault(l.MaxMatches, d.MaxMatches),
		MaxResultBytes:   orDefault(l.MaxResultBytes, d.MaxResultBytes),
		MaxSelectorLen:   orDefault(l.MaxSelectorLen, d.MaxSelectorLen),
		MaxPatternLen:    orDefault(l.MaxPatternLen, d.MaxPatternLen),
		MaxXPathSteps:    orDefault(l.MaxXPathSteps, d.MaxXPathSteps),
		MaxWork:          orDefault64(l.MaxWork, d.MaxWork),
		MaxElementWork:   orDefault64(l.MaxElementWork, d.MaxElementWork),
		MaxHasDepth:      orDefault(l.MaxHasDepth, d.MaxHasDepth),
	}
}

// plan decides how many values a call returns and how many it must look for.
// want is the number to return; look is want+1 when MaxMatches, rather than
// the caller's own first/limit choice, decided want: finding one more match
// is how a call knows that its result was truncated.
func plan(all bool, limit, maxMatches int) (want, look int) {
	switch {
	case !all:
		want = 1
	case limit > 0:
		want = limit
	default:
		return maxMatches, maxMatches + 1
	}
	if want > maxMatches {
		return maxMatches, maxMatches + 1
	}
	return want, want
}

// Normalized returns l with every unset field replaced by its default: the
// limits an extractor made with l applies.
func (l Limits) Normalized() Limits { return l.normalized() }
