package server

import (
	"context"
	"encoding/json"
	"fmt"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"google.golang.org/protobuf/types/known/structpb"
)

// extractStructured answers a StructuredSpec into result, on an extractor
// of the css pool.
func (s *Service) extractStructured(ctx context.Context, req *poolv1.ExtractRequest, in *poolv1.StructuredSpec) (*poolv1.ExtractResponse, error) {
	spec := native.StructuredSpec{Syntaxes: in.GetSyntaxes(), FlattenGraph: in.GetFlattenGraph()}
	return extractNative(ctx, s, req, PoolCSS, cssPool, func(c *native.CSS, doc *native.Document, resp *poolv1.ExtractResponse) error {
		st, truncated, err := s.structured(ctx, req, c, doc, spec, "structured")
		resp.Result, resp.Truncated = st, truncated
		return err
	})
}

// answerStructuredField answers the structured field f into r.
func (s *Service) answerStructuredField(ctx context.Context, req *poolv1.ExtractRequest, c *native.CSS, doc *native.Document, f field, r *poolv1.FieldResult) error {
	st, truncated, err := s.structured(ctx, req, c, doc, *f.structured, f.path)
	r.Result, r.Truncated = st, truncated
	return err
}

// structured answers spec as a Struct; path names the spec in errors.
func (s *Service) structured(ctx context.Context, req *poolv1.ExtractRequest, c *native.CSS, doc *native.Document, spec native.StructuredSpec, path string) (*structpb.Struct, bool, error) {
	ans, err := c.Structured(ctx, doc, spec)
	if err != nil {
		return nil, false, s.nativeError(req, path, err)
	}
	st, err := structpb.NewStruct(protoJSON(ans.Data).(map[string]any))
	if err != nil {
		return nil, false, s.nativeError(req, path, fmt.Errorf("converting the answer: %w", err))
	}
	return st, ans.Truncated, nil
}

// protoJSON converts the JSON numbers of v, which structpb does not take,
// to float64, the only number a Struct holds.
func protoJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = protoJSON(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = protoJSON(x)
		}
		return v
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			// Out of a double's range: keep the digits rather than lose them.
			return v.String()
		}
		return f
	}
	return v
}
