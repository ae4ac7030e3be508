package server

import (
	"errors"
	"fmt"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"google.golang.org/grpc/codes"
)

// costLimitVars names the configuration variable of each work limit of
// native.Limits, for the messages and ErrorInfo metadata of refusals.
var costLimitVars = map[string]string{
	"MaxWork":        "MAX_WORK",
	"MaxElementWork": "CSS_MAX_ELEMENT_WORK",
	"MaxHasDepth":    "CSS_MAX_HAS_DEPTH",
	"MaxXPathSteps":  "XPATH_MAX_STEPS",
}

// costError answers a selector refused by the cost model: INVALID_ARGUMENT
// naming the selector's field, with the limit in the message, in ErrorInfo
// metadata ("limit") and in the BadRequest description.
func costError(field string, cost *native.CostError) error {
	limit := costLimitVars[cost.Limit]
	desc := fmt.Sprintf("%v (%s); ListExtractors publishes the limits", cost, limit)
	return statusError(codes.InvalidArgument, ReasonInvalidRequest, field+": "+desc,
		[]string{"field", field, "limit", limit}, badRequest(field, desc))
}

// checkCustomSelectors refuses, before a guest spends anything on them,
// the selectors of the bundled article module's "custom" mode that are
// invalid or too costly on the request's document: the guest runs them
// with cascadia until its deadline at worst, and the native article
// engine (extractArticle) and the native fallback (fallback) run the same
// code. They are charged as CSS questions of one
// call that ask for the text of every match, as the module does.
func (s *Service) checkCustomSelectors(req *poolv1.ExtractRequest, doc *native.Document, module string, in *poolv1.WasmSpec) error {
	if module != DefaultModule || in.GetMode() != article.ModeCustom {
		return nil
	}
	var cache *native.SelectorCache
	if s.native != nil {
		cache = s.native.Selectors
	}
	i, err := native.CheckSelectors(doc, in.GetSelectors(), s.limits.Limits, cache)
	if err == nil {
		return nil
	}
	field := fmt.Sprintf("wasm.selectors[%d]", i)
	var (
		cost *native.CostError
		spec *native.SpecError
	)
	switch {
	case errors.As(err, &cost):
		return costError(field, cost)
	case errors.As(err, &spec):
		return invalidArgument(field, "%v", spec.Err)
	case errors.Is(err, native.ErrUnparsable):
		return invalidArgument(documentField(req), "%v", err)
	}
	return statusError(codes.Internal, ReasonExtractorFailed, fmt.Sprintf("%s: %v", field, err), nil)
}
