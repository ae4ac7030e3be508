package server

import (
	"context"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/native"
)

// extractXPath answers an XpathSpec on an extractor of the css pool, which
// holds the compiled expressions beside the compiled selectors.
func (s *Service) extractXPath(ctx context.Context, req *poolv1.ExtractRequest, in *poolv1.XpathSpec) (*poolv1.ExtractResponse, error) {
	spec, err := xpathSpec(in, "xpath")
	if err != nil {
		return nil, err
	}
	return extractNative(ctx, s, req, PoolCSS, cssPool, func(c *native.CSS, doc *native.Document, resp *poolv1.ExtractResponse) error {
		ans, err := c.XPath(ctx, doc, spec)
		if err != nil {
			return s.nativeError(req, "xpath", err)
		}
		resp.Values, resp.Truncated, resp.Xpath = ans.Values, ans.Truncated, xpathResult(ans)
		resp.UnresolvedUrls = uint32(ans.Unresolved)
		return nil
	})
}

// answerXPathField answers the XPath field f into r.
func (s *Service) answerXPathField(ctx context.Context, req *poolv1.ExtractRequest, c *native.CSS, doc *native.Document, f field, r *poolv1.FieldResult) error {
	ans, err := c.XPath(ctx, doc, *f.xpath)
	if err != nil {
		return s.nativeError(req, f.path, err)
	}
	r.Values, r.Truncated, r.Xpath = ans.Values, ans.Truncated, xpathResult(ans)
	r.UnresolvedUrls = uint32(ans.Unresolved)
	return nil
}

func xpathSpec(in *poolv1.XpathSpec, path string) (native.XPathSpec, error) {
	out := native.XPathSpec{
		Expression:   in.GetExpression(),
		Attribute:    in.GetAttribute(),
		All:          in.GetAll(),
		Limit:        int(in.GetLimit()),
		AbsoluteURLs: in.GetAbsoluteUrls(),
	}
	var err error
	if out.Output, err = cssOutput(in.GetOutput(), path); err != nil {
		return out, err
	}
	if in.GetExpression() == "" {
		return out, invalidArgument(path+".expression", "an expression is required")
	}
	return out, nil
}

// cssOutput converts an output choice; path names the spec for errors.
func cssOutput(o poolv1.CssOutput, path string) (native.Output, error) {
	switch o {
	case poolv1.CssOutput_CSS_OUTPUT_UNSPECIFIED, poolv1.CssOutput_CSS_OUTPUT_TEXT:
		return native.OutputText, nil
	case poolv1.CssOutput_CSS_OUTPUT_INNER_HTML:
		return native.OutputInnerHTML, nil
	case poolv1.CssOutput_CSS_OUTPUT_OUTER_HTML:
		return native.OutputOuterHTML, nil
	}
	return native.OutputText, invalidArgument(path+".output", "unknown output %d", o)
}

func xpathResult(a native.XPathAnswer) *poolv1.XpathResult {
	r := &poolv1.XpathResult{Number: a.Number, Boolean: a.Bool}
	switch a.Kind {
	case native.XPathNodeSet:
		r.Type = poolv1.XpathResultType_XPATH_RESULT_TYPE_NODE_SET
	case native.XPathString:
		r.Type = poolv1.XpathResultType_XPATH_RESULT_TYPE_STRING
	case native.XPathNumber:
		r.Type = poolv1.XpathResultType_XPATH_RESULT_TYPE_NUMBER
	case native.XPathBoolean:
		r.Type = poolv1.XpathResultType_XPATH_RESULT_TYPE_BOOLEAN
	}
	return r
}

// poolSpecs names the ExtractRequest specs a pool of kind k answers.
func poolSpecs(k poolv1.ExtractorKind) []string {
	switch k {
	case poolv1.ExtractorKind_EXTRACTOR_KIND_CSS:
		return []string{"css", "xpath", "structured", "fields"}
	case poolv1.ExtractorKind_EXTRACTOR_KIND_REGEX:
		return []string{"regex", "fields"}
	case poolv1.ExtractorKind_EXTRACTOR_KIND_WASM:
		return []string{"wasm"}
	}
	return nil
}
