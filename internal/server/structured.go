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
		ans, err := c.Structured(ctx, doc, spec)
		if err != nil {
			return s.nativeError(req, "structured", err)
		}
		st, err := structpb.NewStruct(protoJSON(ans.Data).(map[string]any))
		if err != nil {
			return s.nativeError(req, "structured", fmt.Errorf("converting the answer: %w", err))
		}
		resp.Result, resp.Truncated = st, ans.Truncated
		return nil
	})
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
