package client_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/client"
	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

const page = `<html lang=en><head><title>Tide tables</title></head><body><article>
<h1>Tide tables</h1><p>High water at 06:12 and 18:40, low water at 12:25. Readings from the
harbour office, updated every morning with the forecast for the week ahead, $12.50 a copy.</p>
<a href="/north">North</a> <a href="https://example.org/south">South</a> <a href="#top">Top</a>
</article></body></html>`

func TestExtractHelpers(t *testing.T) {
	c := dial(t, startDaemon(t).addr)
	ctx := context.Background()
	doc := client.HTML(page, "https://example.com/tides/")

	values, err := c.CSS(ctx, doc, client.CSS{Selector: "a", Attribute: "href", All: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/north", "https://example.org/south", "#top"}; !slices.Equal(values.Values, want) {
		t.Errorf("CSS values = %q, want %q", values.Values, want)
	}
	if values.Pool != "css" || values.InstanceID == "" {
		t.Errorf("CSS served by %q/%q, want pool css and an instance", values.Pool, values.InstanceID)
	}

	abs, err := c.CSS(ctx, doc, client.CSS{Selector: "a", Attribute: "href", All: true, AbsoluteURLs: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://example.com/north", "https://example.org/south", "https://example.com/tides/#top"}; !slices.Equal(abs.Values, want) {
		t.Errorf("CSS absolute values = %q, want %q", abs.Values, want)
	}

	n, err := c.XPath(ctx, doc, client.XPath{Expression: "count(//a)"})
	if err != nil {
		t.Fatal(err)
	}
	if n.XPath.GetType() != poolv1.XpathResultType_XPATH_RESULT_TYPE_NUMBER || n.XPath.GetNumber() != 3 {
		t.Errorf("XPath count(//a) = %v, want the number 3", n.XPath)
	}
	h, err := c.XPath(ctx, doc, client.XPath{Expression: "//h1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.Values, []string{"Tide tables"}) {
		t.Errorf("XPath //h1 = %q", h.Values)
	}

	sd, err := c.Structured(ctx, client.HTML(`<head><meta property="og:title" content="Tides">`+
		`<script type="application/ld+json">{"@type": "Article", "wordCount": 3}</script></head>`, ""), client.Structured{})
	if err != nil {
		t.Fatal(err)
	}
	if ld, _ := sd.Result["json-ld"].([]any); len(ld) != 1 || ld[0].(map[string]any)["@type"] != "Article" {
		t.Errorf("structured json-ld = %v, want the Article object", sd.Result["json-ld"])
	}

	m, err := c.Regex(ctx, doc, client.Regex{Pattern: `\$(?P<amount>[0-9.]+)`, All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Matches) != 1 || m.Matches[0].Named["amount"] != "12.50" || m.Matches[0].End <= m.Matches[0].Start {
		t.Errorf("Regex matches = %+v, want one with amount 12.50", m.Matches)
	}

	f, err := c.Fields(ctx, doc, map[string]client.Field{
		"title": {CSS: &client.CSS{Selector: "title"}},
		"times": {Regex: &client.Regex{Pattern: `[0-9]{2}:[0-9]{2}`, All: true}},
		"links": {XPath: &client.XPath{Expression: "//a/@href", All: true}},
		"data":  {Structured: &client.Structured{Syntaxes: []string{"json-ld"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Fields["data"].Result["json-ld"].([]any); len(got) != 0 || f.Fields["data"].Result["json-ld"] == nil {
		t.Errorf("fields data (structured) = %v, want an empty json-ld list", f.Fields["data"].Result)
	}
	if _, err := c.Fields(ctx, doc, map[string]client.Field{"two": {CSS: &client.CSS{Selector: "p"}, Structured: &client.Structured{}}}); !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("a field with two questions: err = %v, want ErrInvalidRequest", err)
	}
	if got := f.Fields["title"].Values; !slices.Equal(got, []string{"Tide tables"}) {
		t.Errorf("fields title = %q", got)
	}
	if got := f.Fields["links"].Values; len(got) != 3 {
		t.Errorf("fields links (xpath) = %q, want 3", got)
	}
	if got := len(f.Fields["times"].Matches); got != 3 {
		t.Errorf("fields times: %d matches, want 3", got)
	}

	a, err := c.Article(ctx, doc, "full")
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "Tide tables" || a.Lang != "en" || len(a.Links) != 2 || a.WordCount == 0 {
		t.Errorf("article = title %q lang %q links %v words %d", a.Title, a.Lang, a.Links, a.WordCount)
	}
	if got := a.Links[0].URL; got != "https://example.com/north" {
		t.Errorf("first link resolved to %q, want https://example.com/north", got)
	}

	custom, err := c.WASM(ctx, doc, client.WASM{Mode: "custom", Selectors: []string{"h1"}})
	if err != nil {
		t.Fatal(err)
	}
	var ca client.Article
	if err := custom.Decode(&ca); err != nil {
		t.Fatal(err)
	}
	if got := ca.Selectors["h1"]; !slices.Equal(got, []string{"Tide tables"}) {
		t.Errorf("custom selectors h1 = %q", got)
	}
}

func TestErrors(t *testing.T) {
	c := dial(t, startDaemon(t, "MAX_DOCUMENT_BYTES=4096").addr)
	ctx := context.Background()
	tests := []struct {
		name      string
		call      func() error
		sentinel  error
		code      codes.Code
		field     string
		retryable bool
	}{
		{"bad selector", func() error {
			_, err := c.CSS(ctx, client.HTML("<p>x</p>", ""), client.CSS{Selector: "p[[["})
			return err
		}, client.ErrInvalidRequest, codes.InvalidArgument, "css.selector", false},
		{"bad pattern", func() error {
			_, err := c.Regex(ctx, client.HTML("<p>x</p>", ""), client.Regex{Pattern: "("})
			return err
		}, client.ErrInvalidRequest, codes.InvalidArgument, "regex.pattern", false},
		{"unknown module", func() error {
			_, err := c.WASM(ctx, client.HTML("<p>x</p>", ""), client.WASM{Module: "nope"})
			return err
		}, client.ErrInvalidRequest, codes.InvalidArgument, "wasm.module", false},
		{"field with two questions, refused before sending", func() error {
			_, err := c.Fields(ctx, client.HTML("<p>x</p>", ""), map[string]client.Field{
				"x": {CSS: &client.CSS{Selector: "p"}, Regex: &client.Regex{Pattern: "x"}}})
			return err
		}, client.ErrInvalidRequest, codes.InvalidArgument, "fields.x", false},
		{"document over the daemon's limit, refused before sending", func() error {
			_, err := c.CSS(ctx, client.HTML(strings.Repeat("x", 5000), ""), client.CSS{Selector: "p"})
			return err
		}, client.ErrDocumentTooLarge, codes.ResourceExhausted, "html", false},
		{"unknown lease", func() error {
			_, err := c.Raw().ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: "nope"})
			return err
		}, nil, codes.NotFound, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if status.Code(err) != tt.code {
				t.Fatalf("error %v, want code %v", err, tt.code)
			}
			if tt.sentinel == nil {
				return
			}
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *client.Error", err, err)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
			}
			if errors.Is(err, client.ErrPoolExhausted) {
				t.Errorf("errors.Is(%v, ErrPoolExhausted) = true", err)
			}
			if e.Field != tt.field {
				t.Errorf("Field = %q, want %q", e.Field, tt.field)
			}
		})
	}
}

// TestLargeResult: a result over grpc's default 4 MiB receive limit fails
// in a stock client and is received by this one, whose limits come from
// ListExtractors.
func TestLargeResult(t *testing.T) {
	d := startDaemon(t, "MAX_DOCUMENT_BYTES=8388608", "MAX_RESULT_BYTES=16777216")
	doc := "<html><body>" + strings.Repeat("<p>"+strings.Repeat("riptide ", 100)+"</p>", 7000) + "</body></html>"
	q := client.CSS{Selector: "body", Output: poolv1.CssOutput_CSS_OUTPUT_OUTER_HTML}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	conn, err := grpc.NewClient(d.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = poolv1.NewPoolServiceClient(conn).Extract(ctx, &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: doc},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: q.Selector, Output: q.Output}},
	})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("stock client: %v, want RESOURCE_EXHAUSTED (grpc's 4 MiB receive limit)", err)
	}

	v, err := dial(t, d.addr).CSS(ctx, client.HTML(doc, ""), q)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.Values[0]); n <= 4<<20 {
		t.Fatalf("result is %d bytes; the test needs one over 4 MiB", n)
	}
}

// TestRetryPoolExhausted holds the only css instance on a lease: a call
// waits out the checkout timeout (POOL_EXHAUSTED) and is retried until the
// lease is released, then succeeds; with retries off it fails.
func TestRetryPoolExhausted(t *testing.T) {
	d := startDaemon(t, "NATIVE_POOL_SIZE=1", "NATIVE_MAX_INSTANCES=1", "CHECKOUT_TIMEOUT_MS=100")
	ctx := context.Background()
	doc := client.HTML("<h1>x</h1>", "")
	q := client.CSS{Selector: "h1"}

	once := dial(t, d.addr, client.WithMaxAttempts(1))
	lease, err := once.Lease(ctx, "css", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, err = once.CSS(ctx, doc, q)
	var e *client.Error
	if !errors.As(err, &e) || !errors.Is(err, client.ErrPoolExhausted) || e.RetryDelay <= 0 || e.Attempts != 1 {
		t.Fatalf("with the pool held: %v (%+v), want POOL_EXHAUSTED with a RetryInfo after 1 attempt", err, e)
	}

	retrying := dial(t, d.addr, client.WithMaxAttempts(1000), client.WithMaxRetryDelay(time.Second))
	done := make(chan error, 1)
	go func() {
		_, err := retrying.CSS(ctx, doc, q)
		done <- err
	}()
	// Release once the retrying call has been refused at least once.
	before := timeouts(t, once)
	for timeouts(t, once) < before+1 {
		time.Sleep(20 * time.Millisecond)
	}
	if err := lease.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("retried call: %v, want success once the lease is released", err)
	}
}

func timeouts(t *testing.T, c *client.Client) uint64 {
	t.Helper()
	m, err := c.GetMetrics(context.Background(), "css")
	if err != nil {
		t.Fatal(err)
	}
	return m.GetPools()[0].GetTimeouts()
}

func TestLease(t *testing.T) {
	c := dial(t, startDaemon(t).addr)
	ctx := context.Background()
	l, err := c.Lease(ctx, "css", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		v, err := l.CSS(ctx, client.HTML("<h1>x</h1>", ""), client.CSS{Selector: "h1"})
		if err != nil {
			t.Fatal(err)
		}
		if v.InstanceID != l.InstanceID {
			t.Errorf("served by %q, want the leased %q", v.InstanceID, l.InstanceID)
		}
	}
	if err := l.Renew(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if leased(t, c) != 1 {
		t.Fatalf("leased = %d before Close, want 1", leased(t, c))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if n := leased(t, c); n != 0 {
		t.Errorf("leased = %d after Close, want 0", n)
	}
	_, err = c.Raw().RenewLease(ctx, &poolv1.RenewLeaseRequest{LeaseId: l.ID})
	if status.Code(err) != codes.NotFound {
		t.Errorf("renewing a closed lease: %v, want NOT_FOUND", err)
	}
	if _, err := c.Lease(ctx, "nope", 0); !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("lease of an unknown pool: %v, want INVALID_REQUEST", err)
	}
}

func leased(t *testing.T, c *client.Client) uint32 {
	t.Helper()
	m, err := c.GetMetrics(context.Background(), "css")
	if err != nil {
		t.Fatal(err)
	}
	return m.GetPools()[0].GetLeased()
}

func TestEvents(t *testing.T) {
	c := dial(t, startDaemon(t).addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := make(chan string, 1)
	go func() {
		for ev, err := range c.Events(ctx, client.EventFilter{
			Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_INSTANCE_CHECKED_OUT},
			Pools: []string{"regex"},
		}) {
			if err != nil {
				seen <- "error: " + err.Error()
				return
			}
			seen <- ev.GetPool()
			return // breaking out ends the stream
		}
	}()
	// The subscription may start after a first call: call until an event
	// arrives.
	for {
		if _, err := c.Regex(ctx, client.HTML("<p>x</p>", ""), client.Regex{Pattern: "x"}); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-seen:
			if got != "regex" {
				t.Fatalf("event: %s, want a checkout in pool regex", got)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestDeadline: a call on a context without a deadline gets the client's
// timeout. A lease holds the only css instance and checkouts wait long, so
// only the client's timeout can end the call.
func TestDeadline(t *testing.T) {
	d := startDaemon(t, "NATIVE_POOL_SIZE=1", "NATIVE_MAX_INSTANCES=1", "CHECKOUT_TIMEOUT_MS=600000")
	c := dial(t, d.addr, client.WithTimeout(300*time.Millisecond))
	l, err := c.Lease(context.Background(), "css", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = c.CSS(context.Background(), client.HTML("<h1>x</h1>", ""), client.CSS{Selector: "h1"})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call on a held pool: %v, want DEADLINE_EXCEEDED from the client's timeout", err)
	}
}
