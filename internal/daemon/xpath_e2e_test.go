package daemon_test

import (
	"strings"
	"testing"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestXPathMaxSteps: XPATH_MAX_STEPS is the step budget of one XPath
// evaluation, published in ListExtractors; an expression over it on its
// document is INVALID_ARGUMENT naming the expression and the variable, and
// a cheap one on the same document is answered.
func TestXPathMaxSteps(t *testing.T) {
	s := start(t, baseEnv("XPATH_MAX_STEPS=5000"))
	client := poolv1.NewPoolServiceClient(s.conn)
	info, err := client.ListExtractors(t.Context(), &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.GetLimits().GetMaxXpathSteps(); got != 5000 {
		t.Errorf("ListExtractors max_xpath_steps = %d, want 5000", got)
	}
	page := "<html><body>" + strings.Repeat("<div><p>x</p></div>", 200) + "</body></html>"
	ask := func(expr string) (*poolv1.ExtractResponse, error) {
		return client.Extract(t.Context(), &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: page},
			Spec:     &poolv1.ExtractRequest_Xpath{Xpath: &poolv1.XpathSpec{Expression: expr}},
		})
	}
	// Some 400 elements, each comparing itself with every <p>.
	_, err = ask("count(//*[. = //p])")
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("quadratic expression: %v, want INVALID_ARGUMENT", err)
	}
	var limit string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			limit = info.GetMetadata()["limit"]
		}
	}
	if limit != "XPATH_MAX_STEPS" || !strings.Contains(st.Message(), "xpath.expression") {
		t.Errorf("refusal %q with limit %q, want xpath.expression and XPATH_MAX_STEPS", st.Message(), limit)
	}
	resp, err := ask("count(//p)")
	if err != nil || resp.GetXpath().GetNumber() != 200 {
		t.Errorf("count(//p) = %v, %v; want 200", resp.GetXpath(), err)
	}
}
