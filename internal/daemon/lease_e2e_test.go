package daemon_test

// End-to-end tests of checkout leases: the real daemon on loopback, driven
// through a real gRPC client, as a scraper in another language would. The
// lease table's own behaviour (clocks, the reaper's scheduling) is tested in
// internal/lease; these tests check the contract at the API: codes, reasons,
// events, metrics and the pools' accounting.

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/daemon"
	"github.com/riptidecrawler/riptide-poold/internal/wasm/bundled"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// leaseWait bounds every poll of these tests: far above what any step takes
// on a loaded machine, so that reaching it means the step never happens.
const leaseWait = 20 * time.Second

// leaseDoc is a small page for CSS and WASM requests.
const leaseDoc = `<!doctype html><html lang="en"><head><title>Leases</title>
<meta name="description" content="How leases work."></head>
<body><h1>Leases</h1><ul><li>one</li><li>two</li><li>three</li></ul></body></html>`

// leaseRig is a daemon and a client of it.
type leaseRig struct {
	t      *testing.T
	s      *started
	client poolv1.PoolServiceClient
}

// startLeaseRig starts a daemon with baseEnv plus env.
func startLeaseRig(t *testing.T, env ...string) *leaseRig {
	t.Helper()
	s := start(t, baseEnv(env...))
	return &leaseRig{t: t, s: s, client: poolv1.NewPoolServiceClient(s.conn)}
}

// checkout leases an instance of pool; ttl 0 asks for the default.
func (r *leaseRig) checkout(pool string, ttl time.Duration) *poolv1.Lease {
	r.t.Helper()
	resp, err := r.client.Checkout(context.Background(), leaseCheckoutRequest(pool, ttl))
	if err != nil {
		r.t.Fatalf("Checkout %q: %v", pool, err)
	}
	l := resp.GetLease()
	if l.GetPool() != pool || len(l.GetLeaseId()) != 22 || !strings.HasPrefix(l.GetInstanceId(), pool+"-") {
		r.t.Fatalf("Checkout %q answered lease %v; want pool %q, a 22-character ID and an instance of the pool", pool, l, pool)
	}
	return l
}

// release ends a lease that must be live.
func (r *leaseRig) release(id string, discard bool) {
	r.t.Helper()
	if _, err := r.client.ReleaseLease(context.Background(), &poolv1.ReleaseLeaseRequest{LeaseId: id, Discard: discard}); err != nil {
		r.t.Fatalf("ReleaseLease (discard %v): %v", discard, err)
	}
}

// extract runs req and fails the test on error.
func (r *leaseRig) extract(req *poolv1.ExtractRequest) *poolv1.ExtractResponse {
	r.t.Helper()
	resp, err := r.client.Extract(context.Background(), req)
	if err != nil {
		r.t.Fatalf("Extract: %v", err)
	}
	return resp
}

// stats answers GetMetrics for one pool.
func (r *leaseRig) stats(pool string) *poolv1.PoolStats {
	r.t.Helper()
	resp, err := r.client.GetMetrics(context.Background(), &poolv1.GetMetricsRequest{Pools: []string{pool}})
	if err != nil {
		r.t.Fatalf("GetMetrics %q: %v", pool, err)
	}
	if len(resp.GetPools()) != 1 {
		r.t.Fatalf("GetMetrics %q answered %d pools", pool, len(resp.GetPools()))
	}
	return resp.GetPools()[0]
}

// waitStats polls GetMetrics until ok holds for pool, and returns the
// stats that satisfied it.
func (r *leaseRig) waitStats(pool, what string, ok func(*poolv1.PoolStats) bool) *poolv1.PoolStats {
	r.t.Helper()
	deadline := time.Now().Add(leaseWait)
	for {
		st := r.stats(pool)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("pool %q: not %s within %v: %v", pool, what, leaseWait, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metric scrapes /metrics and returns the value of one series, written as
// in the exposition format (e.g. `riptide_leases_active{pool="css"}`), or
// NaN when it is absent.
func (r *leaseRig) metric(series string) float64 {
	r.t.Helper()
	return leaseSeries(r.t, scrape(r.t, "http://"+r.s.d.MetricsAddr().String()+"/metrics"), series)
}

// waitMetric polls /metrics until series has the value want.
func (r *leaseRig) waitMetric(series string, want float64) {
	r.t.Helper()
	deadline := time.Now().Add(leaseWait)
	for {
		got := r.metric(series)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s = %v after %v, want %v", series, got, leaseWait, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func leaseSeries(t *testing.T, body, series string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			t.Fatalf("metric %s: %v", series, err)
		}
		return v
	}
	return math.NaN()
}

func leaseCheckoutRequest(pool string, ttl time.Duration) *poolv1.CheckoutRequest {
	req := &poolv1.CheckoutRequest{Pool: pool}
	if ttl != 0 {
		req.Ttl = durationpb.New(ttl)
	}
	return req
}

// leaseCSS asks for every li of leaseDoc, on a lease when id is set.
func leaseCSS(id string) *poolv1.ExtractRequest {
	return &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: leaseDoc},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "li", All: true}},
		LeaseId:  id,
	}
}

// leaseRegex asks for the first match of pattern in leaseDoc's markup.
func leaseRegex(id, pattern string) *poolv1.ExtractRequest {
	return &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: leaseDoc},
		Spec: &poolv1.ExtractRequest_Regex{Regex: &poolv1.RegexSpec{
			Pattern: pattern, Source: poolv1.RegexSource_REGEX_SOURCE_HTML,
		}},
		LeaseId: id,
	}
}

// leaseWantStatus fails the test unless err has code and, when reason is
// set, that ErrorInfo reason.
func leaseWantStatus(t *testing.T, what string, err error, code codes.Code, reason string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Errorf("%s: %v; want %v", what, err, code)
		return
	}
	if reason != "" {
		if got := errorReason(err); got != reason {
			t.Errorf("%s: reason %q (%v); want %q", what, got, err, reason)
		}
	}
}

// leaseViolations lists the fields of err's BadRequest detail.
func leaseViolations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// leaseRetryInfo reports whether err carries a RetryInfo with a delay.
func leaseRetryInfo(err error) bool {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return true
		}
	}
	return false
}

// leaseNotFound checks that the lease id answers NOT_FOUND LEASE_NOT_FOUND
// everywhere a lease ID is taken.
func (r *leaseRig) leaseNotFound(what, id string) {
	r.t.Helper()
	ctx := context.Background()
	_, err := r.client.RenewLease(ctx, &poolv1.RenewLeaseRequest{LeaseId: id})
	leaseWantStatus(r.t, what+": RenewLease", err, codes.NotFound, "LEASE_NOT_FOUND")
	_, err = r.client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: id})
	leaseWantStatus(r.t, what+": ReleaseLease", err, codes.NotFound, "LEASE_NOT_FOUND")
	_, err = r.client.Extract(ctx, leaseCSS(id))
	leaseWantStatus(r.t, what+": Extract", err, codes.NotFound, "LEASE_NOT_FOUND")
}

// TestLeaseCheckoutExtractRelease is a lease's ordinary life: checkout,
// several extractions on the leased instance without touching the pool, a
// renewal, and release, with GetMetrics and /metrics following along.
func TestLeaseCheckoutExtractRelease(t *testing.T) {
	r := startLeaseRig(t)
	before := r.stats("css")

	l := r.checkout("css", 0)
	if !l.GetExpiresAt().AsTime().After(time.Now()) {
		t.Errorf("a new lease with the default TTL of 30s expires at %v, in the past", l.GetExpiresAt().AsTime())
	}
	st := r.stats("css")
	if st.GetLeased() != 1 || st.GetInUse() != 1 {
		t.Errorf("with one lease out: leased %d in_use %d, want 1 and 1", st.GetLeased(), st.GetInUse())
	}
	if got := st.GetCheckouts() - before.GetCheckouts(); got != 1 {
		t.Errorf("checkout counted %d pool checkouts, want 1", got)
	}
	if got := r.metric(`riptide_leases_active{pool="css"}`); got != 1 {
		t.Errorf(`riptide_leases_active{pool="css"} = %v, want 1`, got)
	}

	for i := range 5 {
		resp := r.extract(leaseCSS(l.GetLeaseId()))
		if resp.GetInstanceId() != l.GetInstanceId() {
			t.Errorf("extract %d ran on %q, want the leased %q", i, resp.GetInstanceId(), l.GetInstanceId())
		}
		if got := strings.Join(resp.GetValues(), ","); got != "one,two,three" {
			t.Errorf("extract %d values = %q", i, got)
		}
	}
	// A fields request of the lease's kind runs on the lease too.
	resp := r.extract(&poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: leaseDoc},
		Spec: &poolv1.ExtractRequest_Fields{Fields: &poolv1.FieldsSpec{Fields: map[string]*poolv1.FieldSpec{
			"title": {Spec: &poolv1.FieldSpec_Css{Css: &poolv1.CssSpec{Selector: "h1"}}},
			"items": {Spec: &poolv1.FieldSpec_Css{Css: &poolv1.CssSpec{Selector: "li", All: true}}},
		}}},
		LeaseId: l.GetLeaseId(),
	})
	if resp.GetInstanceId() != l.GetInstanceId() || len(resp.GetFields()["items"].GetValues()) != 3 {
		t.Errorf("fields on the lease: instance %q fields %v; want %q and 3 items", resp.GetInstanceId(), resp.GetFields(), l.GetInstanceId())
	}
	st = r.stats("css")
	if got := st.GetCheckouts() - before.GetCheckouts(); got != 1 {
		t.Errorf("extractions on the lease took %d more instances from the pool; want none", got-1)
	}
	if st.GetInUse() != 1 || st.GetLeased() != 1 {
		t.Errorf("after extractions on the lease: in_use %d leased %d, want 1 and 1", st.GetInUse(), st.GetLeased())
	}

	renewed, err := r.client.RenewLease(context.Background(), &poolv1.RenewLeaseRequest{
		LeaseId: l.GetLeaseId(), Ttl: durationpb.New(5 * time.Minute),
	})
	if err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	if rl := renewed.GetLease(); rl.GetLeaseId() != l.GetLeaseId() || rl.GetInstanceId() != l.GetInstanceId() ||
		!rl.GetExpiresAt().AsTime().After(l.GetExpiresAt().AsTime()) {
		t.Errorf("renewed for 5m: %v; want the same lease expiring after %v", rl, l.GetExpiresAt().AsTime())
	}

	r.release(l.GetLeaseId(), false)
	st = r.stats("css")
	if st.GetLeased() != 0 || st.GetInUse() != 0 {
		t.Errorf("after release: leased %d in_use %d, want 0 and 0", st.GetLeased(), st.GetInUse())
	}
	if got := st.GetDestroyed()["discarded"]; got != 0 {
		t.Errorf("a plain release discarded %d instances", got)
	}
	if got := r.metric(`riptide_leases_active{pool="css"}`); got != 0 {
		t.Errorf(`riptide_leases_active{pool="css"} = %v after release, want 0`, got)
	}
	if got := r.metric(`riptide_lease_duration_seconds_count`); got != 1 {
		t.Errorf("riptide_lease_duration_seconds_count = %v, want 1", got)
	}
	r.leaseNotFound("released lease", l.GetLeaseId())
}

// TestLeaseExpiryReturnsCapacity leases the only css instance from a client
// that then goes away. The reaper must return it: a checkout waiting for
// capacity gets that very instance, a PoolEvents subscriber sees
// LeaseExpired, the metrics count it, and the ID is gone for good.
func TestLeaseExpiryReturnsCapacity(t *testing.T) {
	r := startLeaseRig(t,
		"LEASE_DEFAULT_TTL_MS=1000", "LEASE_MAX_TTL_MS=60000",
		"NATIVE_POOL_SIZE=1", "NATIVE_MAX_INSTANCES=1",
		// Long enough that the waiting checkout below outlives the lease.
		"CHECKOUT_TIMEOUT_MS=30000",
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // before the daemon stops, or the open stream delays it
	stream, err := r.client.PoolEvents(ctx, &poolv1.PoolEventsRequest{
		Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_LEASE_EXPIRED},
	})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan *poolv1.PoolEvent, 16)
	go func() {
		defer close(events)
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			events <- resp.GetEvent()
		}
	}()
	// The subscription exists once the handler has run; the stream's first
	// message comes only with the first event.
	r.waitMetric("riptide_events_subscribers", 1)

	// A client leases with the default TTL and goes away without releasing.
	conn, err := grpc.NewClient(r.s.d.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	gone := (&leaseRig{t: t, s: r.s, client: poolv1.NewPoolServiceClient(conn)}).checkout("css", 0)
	conn.Close()

	// The pool is at max with the lease out: this waits for the reaper.
	next := r.checkout("css", time.Minute)
	if next.GetInstanceId() != gone.GetInstanceId() {
		t.Errorf("after expiry the checkout got %q, want the expired lease's %q back", next.GetInstanceId(), gone.GetInstanceId())
	}

	select {
	case e, ok := <-events:
		if !ok {
			t.Fatal("PoolEvents ended before LeaseExpired")
		}
		if e.GetLeaseExpired().GetLeaseId() != gone.GetLeaseId() || e.GetPool() != "css" || e.GetInstanceId() != gone.GetInstanceId() {
			t.Errorf("event %v; want LeaseExpired of lease %s, pool css, instance %s", e, gone.GetLeaseId(), gone.GetInstanceId())
		}
	case <-time.After(leaseWait):
		t.Fatal("no LeaseExpired event")
	}
	if got := r.metric("riptide_leases_expired_total"); got != 1 {
		t.Errorf("riptide_leases_expired_total = %v, want 1", got)
	}
	r.leaseNotFound("expired lease", gone.GetLeaseId())

	r.release(next.GetLeaseId(), false)
	st := r.stats("css")
	if st.GetLeased() != 0 || st.GetInUse() != 0 || st.GetTotal() != 1 {
		t.Errorf("after all: leased %d in_use %d total %d, want 0, 0, 1", st.GetLeased(), st.GetInUse(), st.GetTotal())
	}
	if got := r.metric("riptide_leases_expired_total"); got != 1 {
		t.Errorf("riptide_leases_expired_total = %v after a release, want still 1", got)
	}
}

// TestLeaseRenewRacingExpiry renews leases from many goroutines just as
// they expire, with extractions on them in flight. Every call must answer
// OK or NOT_FOUND (never another error), a lease once gone stays gone, and
// every lease must end exactly once: the ended-lease count matches, and
// the pool's figures add up (a double release would panic the pool).
func TestLeaseRenewRacingExpiry(t *testing.T) {
	r := startLeaseRig(t)
	const (
		rounds   = 15
		renewers = 8
		ttl      = 150 * time.Millisecond
		shortTTL = 5 * time.Millisecond
	)
	ctx := context.Background()
	var renewOK, renewGone, extractOK, extractGone, releasedOK atomic.Int64
	for round := range rounds {
		l := r.checkout("css", ttl)
		// Start around the deadline, from 10ms before to 10ms after, so
		// that renewals, the reaper and extractions on the lease meet:
		// some leases survive their renewals, others expire under them.
		offset := time.Duration(round%5-2) * 5 * time.Millisecond
		time.Sleep(time.Until(l.GetExpiresAt().AsTime().Add(offset)))
		var wg sync.WaitGroup
		for g := range renewers {
			wg.Go(func() {
				for range 5 {
					resp, err := r.client.RenewLease(ctx, &poolv1.RenewLeaseRequest{
						LeaseId: l.GetLeaseId(), Ttl: durationpb.New(shortTTL),
					})
					switch status.Code(err) {
					case codes.OK:
						renewOK.Add(1)
						if resp.GetLease().GetInstanceId() != l.GetInstanceId() {
							t.Errorf("round %d: renewal answered instance %q, want %q", round, resp.GetLease().GetInstanceId(), l.GetInstanceId())
						}
						continue
					case codes.NotFound:
						renewGone.Add(1)
						leaseWantStatus(t, "renewal", err, codes.NotFound, "LEASE_NOT_FOUND")
					default:
						t.Errorf("round %d renewer %d: %v; want OK or NOT_FOUND", round, g, err)
					}
					return // a lease that has gone never comes back
				}
			})
		}
		wg.Go(func() {
			for range 5 {
				resp, err := r.client.Extract(ctx, leaseCSS(l.GetLeaseId()))
				switch status.Code(err) {
				case codes.OK:
					extractOK.Add(1)
					if resp.GetInstanceId() != l.GetInstanceId() {
						t.Errorf("round %d: extraction on %q, want %q", round, resp.GetInstanceId(), l.GetInstanceId())
					}
					continue
				case codes.NotFound:
					extractGone.Add(1)
					leaseWantStatus(t, "extraction", err, codes.NotFound, "LEASE_NOT_FOUND")
				default:
					t.Errorf("round %d: extraction: %v; want OK or NOT_FOUND", round, err)
				}
				return
			}
		})
		wg.Wait()
		_, err := r.client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: l.GetLeaseId()})
		switch status.Code(err) {
		case codes.OK:
			releasedOK.Add(1)
		case codes.NotFound:
			leaseWantStatus(t, "release", err, codes.NotFound, "LEASE_NOT_FOUND")
		default:
			t.Errorf("round %d: release: %v; want OK or NOT_FOUND", round, err)
		}
	}
	t.Logf("renewals: %d ok, %d gone; extractions: %d ok, %d gone; leases released %d, expired %d",
		renewOK.Load(), renewGone.Load(), extractOK.Load(), extractGone.Load(), releasedOK.Load(), rounds-releasedOK.Load())

	st := r.waitStats("css", "without leases", func(st *poolv1.PoolStats) bool { return st.GetLeased() == 0 })
	r.waitMetric("riptide_lease_duration_seconds_count", rounds)
	if got, want := r.metric("riptide_leases_expired_total"), float64(rounds-releasedOK.Load()); got != want {
		t.Errorf("riptide_leases_expired_total = %v, want %v (%d leases, %d released)", got, want, rounds, releasedOK.Load())
	}
	// Every instance is back, once: nothing in use, and the live ones are
	// exactly those created and not destroyed.
	var destroyed uint64
	for _, n := range st.GetDestroyed() {
		destroyed += n
	}
	if st.GetInUse() != 0 || st.GetTotal() != st.GetIdle() || uint64(st.GetTotal()) != st.GetCreated()-destroyed || st.GetTotal() > st.GetMax() {
		t.Errorf("pool figures do not add up after the race: %v", st)
	}
	// And the pool still serves.
	r.extract(leaseCSS(""))
}

// TestLeaseReleaseTwiceAndDiscard: a lease ends once; a discarded lease's
// instance is destroyed, not returned.
func TestLeaseReleaseTwiceAndDiscard(t *testing.T) {
	r := startLeaseRig(t)
	ctx := context.Background()

	l := r.checkout("css", 0)
	r.release(l.GetLeaseId(), false)
	_, err := r.client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: l.GetLeaseId()})
	leaseWantStatus(t, "second release", err, codes.NotFound, "LEASE_NOT_FOUND")
	_, err = r.client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: l.GetLeaseId(), Discard: true})
	leaseWantStatus(t, "discard after release", err, codes.NotFound, "LEASE_NOT_FOUND")

	before := r.stats("regex")
	d := r.checkout("regex", 0)
	if resp := r.extract(leaseRegex(d.GetLeaseId(), `<h1>(\w+)</h1>`)); len(resp.GetMatches()) != 1 {
		t.Errorf("regex on the lease: %v", resp.GetMatches())
	}
	r.release(d.GetLeaseId(), true)
	after := r.stats("regex")
	if got := after.GetDestroyed()["discarded"] - before.GetDestroyed()["discarded"]; got != 1 {
		t.Errorf(`destroyed["discarded"] grew by %d, want 1 (before %v, after %v)`, got, before.GetDestroyed(), after.GetDestroyed())
	}
	if after.GetLeased() != 0 || after.GetInUse() != 0 {
		t.Errorf("after discard: leased %d in_use %d, want 0 and 0", after.GetLeased(), after.GetInUse())
	}
	_, err = r.client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: d.GetLeaseId(), Discard: true})
	leaseWantStatus(t, "second discard", err, codes.NotFound, "LEASE_NOT_FOUND")
	// The discarded instance is never handed out again.
	for range 3 {
		if got := r.extract(leaseRegex("", `<h1>`)).GetInstanceId(); got == d.GetInstanceId() {
			t.Errorf("the discarded instance %q served a request", got)
		}
	}
	// An ID that never was answers the same as one that ended.
	r.leaseNotFound("unknown lease", "AAAAAAAAAAAAAAAAAAAAAA")
}

// TestLeaseInvalidRequests checks the validation of Checkout, RenewLease
// and ReleaseLease: INVALID_ARGUMENT with a BadRequest naming the field.
func TestLeaseInvalidRequests(t *testing.T) {
	r := startLeaseRig(t, "LEASE_DEFAULT_TTL_MS=1000", "LEASE_MAX_TTL_MS=60000")
	ctx := context.Background()
	live := r.checkout("css", time.Minute)
	defer r.release(live.GetLeaseId(), false)

	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"checkout ttl over max", func() error {
			_, err := r.client.Checkout(ctx, leaseCheckoutRequest("css", 61*time.Second))
			return err
		}, "ttl"},
		{"checkout negative ttl", func() error {
			_, err := r.client.Checkout(ctx, leaseCheckoutRequest("css", -time.Second))
			return err
		}, "ttl"},
		{"checkout ttl of 1ns, born expired", func() error {
			_, err := r.client.Checkout(ctx, leaseCheckoutRequest("css", time.Nanosecond))
			return err
		}, "ttl"},
		{"checkout ttl under LEASE_DEFAULT_TTL_MS's least", func() error {
			_, err := r.client.Checkout(ctx, leaseCheckoutRequest("css", 500*time.Microsecond))
			return err
		}, "ttl"},
		{"renew ttl of 1ns", func() error {
			_, err := r.client.RenewLease(ctx, &poolv1.RenewLeaseRequest{LeaseId: live.GetLeaseId(), Ttl: durationpb.New(time.Nanosecond)})
			return err
		}, "ttl"},
		{"checkout malformed ttl", func() error {
			_, err := r.client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: "css", Ttl: &durationpb.Duration{Seconds: 1, Nanos: -1}})
			return err
		}, "ttl"},
		{"checkout without pool", func() error {
			_, err := r.client.Checkout(ctx, &poolv1.CheckoutRequest{})
			return err
		}, "pool"},
		{"renew ttl over max", func() error {
			_, err := r.client.RenewLease(ctx, &poolv1.RenewLeaseRequest{LeaseId: live.GetLeaseId(), Ttl: durationpb.New(time.Hour)})
			return err
		}, "ttl"},
		{"renew negative ttl", func() error {
			_, err := r.client.RenewLease(ctx, &poolv1.RenewLeaseRequest{LeaseId: live.GetLeaseId(), Ttl: durationpb.New(-time.Millisecond)})
			return err
		}, "ttl"},
		{"renew without lease_id", func() error {
			_, err := r.client.RenewLease(ctx, &poolv1.RenewLeaseRequest{})
			return err
		}, "lease_id"},
		{"release without lease_id", func() error {
			_, err := r.client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{})
			return err
		}, "lease_id"},
		{"release discard without lease_id", func() error {
			_, err := r.client.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{Discard: true})
			return err
		}, "lease_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			leaseWantStatus(t, tc.name, err, codes.InvalidArgument, "INVALID_REQUEST")
			if got := leaseViolations(err); len(got) != 1 || got[0] != tc.field {
				t.Errorf("BadRequest fields %q, want [%s]", got, tc.field)
			}
		})
	}

	// None of that took an instance or touched the live lease.
	st := r.stats("css")
	if st.GetLeased() != 1 || st.GetInUse() != 1 {
		t.Errorf("after refused calls: leased %d in_use %d, want 1 and 1", st.GetLeased(), st.GetInUse())
	}
	if resp := r.extract(leaseCSS(live.GetLeaseId())); resp.GetInstanceId() != live.GetInstanceId() {
		t.Errorf("the live lease ran on %q, want %q", resp.GetInstanceId(), live.GetInstanceId())
	}
}

// TestLeasesExhaustPool: leases count toward the pool's max. With both css
// instances leased, a checkout and a plain extraction wait for the checkout
// timeout and fail POOL_EXHAUSTED with retry advice; once a lease is
// released, both succeed.
func TestLeasesExhaustPool(t *testing.T) {
	r := startLeaseRig(t, "NATIVE_POOL_SIZE=1", "NATIVE_MAX_INSTANCES=2", "CHECKOUT_TIMEOUT_MS=200")
	ctx := context.Background()
	a := r.checkout("css", 0)
	b := r.checkout("css", 0)
	if a.GetInstanceId() == b.GetInstanceId() {
		t.Fatalf("two leases on one instance %q", a.GetInstanceId())
	}
	before := r.stats("css")
	if before.GetLeased() != 2 || before.GetInUse() != 2 || before.GetTotal() != 2 {
		t.Errorf("two leases out: leased %d in_use %d total %d, want 2, 2, 2", before.GetLeased(), before.GetInUse(), before.GetTotal())
	}

	_, err := r.client.Checkout(ctx, leaseCheckoutRequest("css", 0))
	leaseWantStatus(t, "third checkout", err, codes.ResourceExhausted, "POOL_EXHAUSTED")
	if !leaseRetryInfo(err) {
		t.Errorf("third checkout: %v carries no RetryInfo", err)
	}
	_, err = r.client.Extract(ctx, leaseCSS(""))
	leaseWantStatus(t, "plain extract", err, codes.ResourceExhausted, "POOL_EXHAUSTED")
	if !leaseRetryInfo(err) {
		t.Errorf("plain extract: %v carries no RetryInfo", err)
	}
	after := r.stats("css")
	if w, to := after.GetWaits()-before.GetWaits(), after.GetTimeouts()-before.GetTimeouts(); w != 2 || to != 2 {
		t.Errorf("the two refused checkouts counted %d waits and %d timeouts, want 2 and 2", w, to)
	}
	// Extractions on the leases still run, and the other pool is untouched.
	r.extract(leaseCSS(a.GetLeaseId()))
	r.extract(leaseRegex("", `<li>`))

	r.release(a.GetLeaseId(), false)
	r.extract(leaseCSS(""))
	c := r.checkout("css", 0)
	r.release(b.GetLeaseId(), false)
	r.release(c.GetLeaseId(), false)
	st := r.stats("css")
	if st.GetLeased() != 0 || st.GetInUse() != 0 {
		t.Errorf("after releasing all: leased %d in_use %d, want 0 and 0", st.GetLeased(), st.GetInUse())
	}
}

// TestLeaseMismatch: a lease serves only requests of its own pool, and a
// refused request leaves the lease usable.
func TestLeaseMismatch(t *testing.T) {
	r := startLeaseRig(t)
	css := r.checkout("css", 0)
	regex := r.checkout("regex", 0)
	defer r.release(css.GetLeaseId(), false)
	defer r.release(regex.GetLeaseId(), false)

	cssField := &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Css{Css: &poolv1.CssSpec{Selector: "h1"}}}
	regexField := &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Regex{Regex: &poolv1.RegexSpec{Pattern: `\w+`}}}
	fields := func(id string, fs map[string]*poolv1.FieldSpec) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: leaseDoc},
			Spec:     &poolv1.ExtractRequest_Fields{Fields: &poolv1.FieldsSpec{Fields: fs}},
			LeaseId:  id,
		}
	}
	tests := []struct {
		name string
		req  *poolv1.ExtractRequest
	}{
		{"regex on a css lease", leaseRegex(css.GetLeaseId(), `\w+`)},
		{"css on a regex lease", leaseCSS(regex.GetLeaseId())},
		{"fields css+regex on a css lease", fields(css.GetLeaseId(), map[string]*poolv1.FieldSpec{"a": cssField, "b": regexField})},
		{"fields css+regex on a regex lease", fields(regex.GetLeaseId(), map[string]*poolv1.FieldSpec{"a": cssField, "b": regexField})},
		{"fields regex on a css lease", fields(css.GetLeaseId(), map[string]*poolv1.FieldSpec{"b": regexField})},
		{"fields css on a regex lease", fields(regex.GetLeaseId(), map[string]*poolv1.FieldSpec{"a": cssField})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.client.Extract(context.Background(), tc.req)
			leaseWantStatus(t, tc.name, err, codes.FailedPrecondition, "LEASE_MISMATCH")
		})
	}

	if got := r.extract(leaseCSS(css.GetLeaseId())).GetInstanceId(); got != css.GetInstanceId() {
		t.Errorf("css lease after mismatches ran on %q, want %q", got, css.GetInstanceId())
	}
	if got := r.extract(leaseRegex(regex.GetLeaseId(), `<h1>`)).GetInstanceId(); got != regex.GetInstanceId() {
		t.Errorf("regex lease after mismatches ran on %q, want %q", got, regex.GetInstanceId())
	}
}

// TestLeaseConcurrentExtractsSerialized sends slow extractions on one lease
// from several goroutines. They must all succeed on the leased instance
// without the pool handing out another one (in_use stays at the lease's
// one instance, and the pool counts no checkout). That they run one at a
// time is checked by the race detector: a CSS extractor renders values
// into a buffer it keeps between calls, which unserialized calls would
// race on. (A regex extractor keeps no per-call state, so for it only the
// pool's side is observable.)
func TestLeaseConcurrentExtractsSerialized(t *testing.T) {
	// Tens of milliseconds per call, hundreds under -race, so that calls
	// overlap: parsing and selecting a quarter megabyte of list items, or
	// an NFA over a quarter megabyte of markup that has no match.
	list := "<ul>" + strings.Repeat("<li>item</li>", 20000) + "</ul>"
	markup := "<p>" + strings.Repeat("ab", 1<<17) + "</p>"
	tests := []struct {
		pool string
		req  func(id string, g int) *poolv1.ExtractRequest
		ok   func(*poolv1.ExtractResponse) bool
	}{
		{"css", func(id string, _ int) *poolv1.ExtractRequest {
			return &poolv1.ExtractRequest{
				Document: &poolv1.ExtractRequest_Html{Html: list},
				Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "li", All: true, Limit: 5000}},
				LeaseId:  id,
			}
		}, func(resp *poolv1.ExtractResponse) bool { return len(resp.GetValues()) == 5000 }},
		{"regex", func(id string, g int) *poolv1.ExtractRequest {
			return &poolv1.ExtractRequest{
				Document: &poolv1.ExtractRequest_Html{Html: markup},
				Spec: &poolv1.ExtractRequest_Regex{Regex: &poolv1.RegexSpec{
					Pattern: fmt.Sprintf(`(a|b)*c%d`, g), Source: poolv1.RegexSource_REGEX_SOURCE_HTML,
				}},
				LeaseId: id,
			}
		}, func(resp *poolv1.ExtractResponse) bool { return len(resp.GetMatches()) == 0 }},
	}
	r := startLeaseRig(t)
	for _, tc := range tests {
		t.Run(tc.pool, func(t *testing.T) {
			r := &leaseRig{t: t, s: r.s, client: r.client}
			// A TTL far past the calls' run time: on a loaded machine the
			// race detector stretches eight regex calls past the default 30 s.
			l := r.checkout(tc.pool, 5*time.Minute)
			defer r.release(l.GetLeaseId(), false)
			before := r.stats(tc.pool)

			const goroutines, calls = 4, 2
			done := make(chan struct{})
			var maxInUse, samples atomic.Int64
			sampler := make(chan struct{})
			go func() {
				defer close(sampler)
				for {
					resp, err := r.client.GetMetrics(context.Background(), &poolv1.GetMetricsRequest{Pools: []string{tc.pool}})
					if err != nil || len(resp.GetPools()) != 1 {
						t.Errorf("GetMetrics while extracting: %v %v", resp, err)
						return
					}
					st := resp.GetPools()[0]
					samples.Add(1)
					if n := int64(st.GetInUse()); n > maxInUse.Load() {
						maxInUse.Store(n)
					}
					if st.GetLeased() != 1 {
						t.Errorf("leased %d while the lease is out, want 1", st.GetLeased())
					}
					select {
					case <-done:
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			}()
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for c := range calls {
						resp, err := r.client.Extract(context.Background(), tc.req(l.GetLeaseId(), g))
						if err != nil {
							t.Errorf("goroutine %d call %d: %v", g, c, err)
							return
						}
						if resp.GetInstanceId() != l.GetInstanceId() || !tc.ok(resp) {
							t.Errorf("goroutine %d call %d: instance %q (want %q), %d values, %d matches",
								g, c, resp.GetInstanceId(), l.GetInstanceId(), len(resp.GetValues()), len(resp.GetMatches()))
						}
					}
				})
			}
			wg.Wait()
			close(done)
			<-sampler
			if n := maxInUse.Load(); n > 1 {
				t.Errorf("in_use reached %d during extractions on one lease, want 1", n)
			}
			after := r.stats(tc.pool)
			if after.GetCheckouts() != before.GetCheckouts() {
				t.Errorf("extractions on the lease made %d pool checkouts, want 0", after.GetCheckouts()-before.GetCheckouts())
			}
			series := `riptide_pool_instances{pool="` + tc.pool + `",state="in_use"}`
			if got := r.metric(series); got != 1 {
				t.Errorf("%s = %v, want 1 (the lease)", series, got)
			}
			t.Logf("%d GetMetrics samples during %d extractions", samples.Load(), goroutines*calls)
		})
	}
}

// TestLeaseWASM leases an instance of the bundled article module.
func TestLeaseWASM(t *testing.T) {
	if len(bundled.Article()) == 0 {
		t.Skip("the bundled article.wasm is empty; build it with `make wasm`")
	}
	r := startLeaseRig(t, "WASM_POOL_ENABLED=true", "WASM_POOL_SIZE=1", "WASM_MAX_INSTANCES=2")
	ctx := context.Background()

	l := r.checkout("article", 0)
	if st := r.stats("article"); st.GetLeased() != 1 || st.GetInUse() != 1 {
		t.Errorf("article with a lease out: leased %d in_use %d, want 1 and 1", st.GetLeased(), st.GetInUse())
	}
	for i := range 2 {
		resp := r.extract(&poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: leaseDoc},
			Url:      "https://example.com/leases",
			Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Mode: "metadata"}},
			LeaseId:  l.GetLeaseId(),
		})
		if resp.GetInstanceId() != l.GetInstanceId() || resp.GetPool() != "article" || resp.GetFallback() {
			t.Errorf("extract %d: instance %q pool %q fallback %v; want %q, article, no fallback",
				i, resp.GetInstanceId(), resp.GetPool(), resp.GetFallback(), l.GetInstanceId())
		}
		if got := resp.GetResult().GetFields()["title"].GetStringValue(); got != "Leases" {
			t.Errorf("extract %d: title %q, want Leases; result %v", i, got, resp.GetResult())
		}
	}
	// A native request on the module's lease is a mismatch, and so is the
	// module asked for on a native lease.
	_, err := r.client.Extract(ctx, leaseCSS(l.GetLeaseId()))
	leaseWantStatus(t, "css on an article lease", err, codes.FailedPrecondition, "LEASE_MISMATCH")
	css := r.checkout("css", 0)
	_, err = r.client.Extract(ctx, &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: leaseDoc},
		Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Mode: "metadata"}},
		LeaseId:  css.GetLeaseId(),
	})
	leaseWantStatus(t, "article on a css lease", err, codes.FailedPrecondition, "LEASE_MISMATCH")
	r.release(css.GetLeaseId(), false)

	// With WebAssembly pools on, a name that is no pool is a bad argument.
	_, err = r.client.Checkout(ctx, leaseCheckoutRequest("no-such-module", 0))
	leaseWantStatus(t, "unknown pool", err, codes.InvalidArgument, "INVALID_REQUEST")
	if got := leaseViolations(err); len(got) != 1 || got[0] != "pool" {
		t.Errorf("unknown pool: BadRequest fields %q, want [pool]", got)
	}

	r.release(l.GetLeaseId(), false)
	if st := r.stats("article"); st.GetLeased() != 0 || st.GetInUse() != 0 {
		t.Errorf("article after release: leased %d in_use %d, want 0 and 0", st.GetLeased(), st.GetInUse())
	}
	r.leaseNotFound("released article lease", l.GetLeaseId())
}

// leaseLog records a daemon's log records.
type leaseLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *leaseLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *leaseLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *leaseLog) WithGroup(string) slog.Handler            { return l }
func (l *leaseLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

func (l *leaseLog) snapshot() []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]slog.Record(nil), l.records...)
}

// TestLeaseShutdownReleasesLeases stops a daemon with leases out. The
// leases must be released before the pools close: Serve returns nil, the
// daemon logs that the leases were released, and nothing at warning level
// or above (a pool closing with instances still out would warn).
func TestLeaseShutdownReleasesLeases(t *testing.T) {
	cfg, err := config.Load(nil, baseEnv("SHUTDOWN_GRACE_MS=3000"))
	if err != nil {
		t.Fatal(err)
	}
	log := new(leaseLog)
	d, err := daemon.New(context.Background(), cfg, daemon.Options{Logger: slog.New(log), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx) }()
	conn, err := grpc.NewClient(d.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitServing(t, conn)
	r := &leaseRig{t: t, client: poolv1.NewPoolServiceClient(conn)}

	cssLease := r.checkout("css", 0)
	r.checkout("regex", 0)
	r.extract(leaseCSS(cssLease.GetLeaseId()))

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve with leases out returned %v, want nil", err)
		}
	case <-time.After(leaseWait):
		t.Fatal("Serve did not return after cancellation")
	}
	var released bool
	for _, rec := range log.snapshot() {
		if rec.Level >= slog.LevelWarn {
			t.Errorf("shutdown logged %v %q", rec.Level, rec.Message)
		}
		released = released || rec.Message == "leases released"
	}
	if !released {
		t.Error(`shutdown did not log "leases released"`)
	}
}

// TestLeaseUnknownPoolWithoutWASM: with the WebAssembly pools off, a name
// that is neither css nor regex names no pool, as ListExtractors shows, and
// is answered like any unknown pool.
func TestLeaseUnknownPoolWithoutWASM(t *testing.T) {
	r := startLeaseRig(t)
	_, err := r.client.Checkout(context.Background(), leaseCheckoutRequest("CSS", 0))
	leaseWantStatus(t, "unknown pool", err, codes.InvalidArgument, "INVALID_REQUEST")
	if got := leaseViolations(err); len(got) != 1 || got[0] != "pool" {
		t.Errorf("BadRequest fields %q, want [pool]", got)
	}
}

// TestLeaseWaitingCallDeadline: a call waiting for another call on the same
// lease honours its deadline, and the daemon accounts for it as
// DEADLINE_EXCEEDED, the way it does a call waiting for a pool's instance
// (an Unknown would count as a server error in the health report's
// error rate).
func TestLeaseWaitingCallDeadline(t *testing.T) {
	r := startLeaseRig(t)
	l := r.checkout("css", 0)
	defer r.release(l.GetLeaseId(), false)
	slow := &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: "<ul>" + strings.Repeat("<li>item</li>", 80000) + "</ul>"},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "li", All: true, Limit: 10}},
		LeaseId:  l.GetLeaseId(),
	}
	const labels = `grpc_method="Extract",grpc_service="riptide.pool.v1.PoolService",grpc_type="unary"}`
	started := `grpc_server_started_total{` + labels
	handled := func(code codes.Code) string {
		return `grpc_server_handled_total{grpc_code="` + code.String() + `",` + labels
	}
	count := func(series string) float64 {
		if v := r.metric(series); !math.IsNaN(v) {
			return v
		}
		return 0
	}
	outcomes := []codes.Code{codes.OK, codes.DeadlineExceeded, codes.Unknown, codes.Canceled}
	// settle waits until the daemon has finished every Extract it started.
	settle := func() {
		deadline := time.Now().Add(leaseWait)
		for {
			var done float64
			for _, c := range outcomes {
				done += count(handled(c))
			}
			if done == count(started) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Extract calls started %v, handled %v", count(started), done)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// The slow call must hold the lease while the quick one waits, and the
	// quick one must reach the daemon before its deadline; when either
	// does not happen, try again.
	waited := false
	for attempt := 0; attempt < 5 && !waited; attempt++ {
		settle()
		n, before := count(started), count(handled(codes.OK))
		slowDone := make(chan error, 1)
		go func() {
			_, err := r.client.Extract(context.Background(), slow)
			slowDone <- err
		}()
		r.waitMetric(started, n+1)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := r.client.Extract(ctx, leaseCSS(l.GetLeaseId()))
		cancel()
		if c := status.Code(err); c != codes.OK && c != codes.DeadlineExceeded {
			t.Errorf("call waiting on the lease: %v; want OK or DEADLINE_EXCEEDED", err)
		}
		if err := <-slowDone; err != nil {
			t.Fatalf("slow call on the lease: %v", err)
		}
		settle()
		// Conclusive when the daemon handled both calls and only the slow
		// one succeeded.
		waited = count(started) == n+2 && count(handled(codes.OK)) == before+1
	}
	if !waited {
		t.Skip("inconclusive: the quick call never waited in the daemon for the slow one")
	}
	if n := count(handled(codes.Unknown)); n > 0 {
		t.Errorf("a call that timed out waiting for its lease was handled as Unknown (%v), not DeadlineExceeded", n)
	}
	// The daemon sees the client give up either as its deadline passing or
	// as the client cancelling the stream at its deadline, whichever
	// reaches it first; both are the caller's doing.
	if got := count(handled(codes.DeadlineExceeded)) + count(handled(codes.Canceled)); got != 1 {
		t.Errorf("calls handled DeadlineExceeded or Canceled = %v, want 1", got)
	}
	ext := func(outcome string) float64 {
		return count(`riptide_extraction_duration_seconds_count{extractor="css",outcome="` + outcome + `",pool="css"}`)
	}
	if got := ext("DeadlineExceeded") + ext("Canceled"); got != 1 {
		t.Errorf("extractions with outcome DeadlineExceeded or Canceled: %v, want 1", got)
	}
}
