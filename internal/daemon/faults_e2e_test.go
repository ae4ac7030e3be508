package daemon_test

// Fault tests (issue 8, "Faults"), short enough for `go test`: clients that
// go away mid-call and mid-stream, leases abandoned by the thousand, a
// shutdown under load, and instances whose health checks fail at random.
// Each drives the real daemon on loopback and ends by checking that nothing
// leaked: every pool's in_use back to 0, the goroutines back to their level.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// faultOutcomes counts call outcomes by "code reason", safe for concurrent
// use.
type faultOutcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *faultOutcomes) add(err error) {
	key := "OK"
	if err != nil {
		key = status.Code(err).String() + " " + errorReason(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[key]++
}

func (o *faultOutcomes) snapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.n))
	for k, v := range o.n {
		out[k] = v
	}
	return out
}

// allPools returns every pool's stats.
func allPools(t *testing.T, client poolv1.PoolServiceClient) []*poolv1.PoolStats {
	t.Helper()
	resp, err := client.GetMetrics(context.Background(), &poolv1.GetMetricsRequest{})
	if err != nil {
		t.Fatalf("GetMetrics: %v", err)
	}
	return resp.GetPools()
}

// waitPoolsIdle waits until no pool has an instance in use, leased, or a
// waiter.
func waitPoolsIdle(t *testing.T, client poolv1.PoolServiceClient) {
	t.Helper()
	var last []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		last = last[:0]
		for _, p := range allPools(t, client) {
			if p.GetInUse() != 0 || p.GetLeased() != 0 || p.GetWaiters() != 0 {
				last = append(last, fmt.Sprintf("%s in_use %d leased %d waiters %d", p.GetPool(), p.GetInUse(), p.GetLeased(), p.GetWaiters()))
			}
		}
		if len(last) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pools still busy 30s after the faults: %v", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGoroutinesBack waits until the process has at most limit goroutines:
// the daemon runs in the test's process, so runtime.NumGoroutine counts its
// goroutines and the clients'.
func waitGoroutinesBack(t *testing.T, limit int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > limit {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want at most %d after the faults:\n%s", runtime.NumGoroutine(), limit, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var handledLine = regexp.MustCompile(`(?m)^grpc_server_handled_total\{grpc_code="([A-Za-z]+)",grpc_method="([A-Za-z]+)",grpc_service="riptide\.pool\.v1\.PoolService",grpc_type="(?:unary|server_stream)"\} (\S+)`)
var startedLine = regexp.MustCompile(`(?m)^grpc_server_started_total\{grpc_method="([A-Za-z]+)",grpc_service="riptide\.pool\.v1\.PoolService",grpc_type="(?:unary|server_stream)"\} (\S+)`)

// serverCalls reads, from one scrape of /metrics, the calls of method the
// server started and those it handled, by code.
func serverCalls(body, method string) (started int, handled map[string]int) {
	handled = map[string]int{}
	for _, m := range startedLine.FindAllStringSubmatch(body, -1) {
		if m[1] == method {
			v, _ := strconv.ParseFloat(m[2], 64)
			started = int(v)
		}
	}
	for _, m := range handledLine.FindAllStringSubmatch(body, -1) {
		if m[2] == method {
			v, _ := strconv.ParseFloat(m[3], 64)
			if v > 0 {
				handled[m[1]] = int(v)
			}
		}
	}
	return started, handled
}

// corpusOrArticlePage is the corpus page of median size, or articlePage
// when the corpus is absent: the faults do not depend on the page.
func corpusOrArticlePage(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RIPTIDE_CORPUS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus", "readability")
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "source.html"))
	if len(paths) == 0 {
		return articlePage
	}
	type sized struct {
		path string
		size int64
	}
	var pages []sized
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			pages = append(pages, sized{p, fi.Size()})
		}
	}
	slices.SortFunc(pages, func(a, b sized) int { return int(a.size - b.size) })
	b, err := os.ReadFile(pages[len(pages)/2].path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// TestFaultClientsDisconnectMidCall cancels WASM and CSS extractions and
// PoolEvents streams at random points of their lives. The callers may see
// OK, CANCELED or DEADLINE_EXCEEDED, and the server may have answered
// nothing else; afterwards every pool is idle, article's breaker is still
// closed (a caller giving up is never the module's fault), the event
// subscribers are gone, the daemon serves, and the goroutines settle.
func TestFaultClientsDisconnectMidCall(t *testing.T) {
	s := start(t, wasmEnv("", "WASM_POOL_SIZE=2", "WASM_MAX_INSTANCES=3", "NATIVE_POOL_SIZE=2", "NATIVE_MAX_INSTANCES=4"))
	client := poolv1.NewPoolServiceClient(s.conn)
	page := corpusOrArticlePage(t)
	// The small page for the guest: under the race detector a corpus page
	// takes the article module seconds, and the point is the cancellation.
	wasmReq := wasmRequest("article", "article", articlePage)
	css := &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: page},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a[href]", Attribute: "href", All: true}},
	}
	// Warm up, then take the goroutine baseline with the daemon serving.
	for _, req := range []*poolv1.ExtractRequest{wasmReq, css} {
		if _, err := client.Extract(context.Background(), req); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
	}
	waitPoolsIdle(t, client)
	baseline := runtime.NumGoroutine()

	var got faultOutcomes
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 8))
			for range 10 {
				req := css
				maxWait := 5 * time.Millisecond
				if g%2 == 0 {
					req, maxWait = wasmReq, 300*time.Millisecond
				}
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(time.Duration(r.Int64N(int64(maxWait))), cancel)
				_, err := client.Extract(ctx, req)
				cancel()
				got.add(err)
			}
		})
	}
	// Streams that subscribe, read a little, and go away.
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for range 10 {
				ctx, cancel := context.WithCancel(context.Background())
				stream, err := client.PoolEvents(ctx, &poolv1.PoolEventsRequest{Kinds: []poolv1.EventKind{
					poolv1.EventKind_EVENT_KIND_INSTANCE_CHECKED_OUT, poolv1.EventKind_EVENT_KIND_INSTANCE_RETURNED,
				}})
				if err == nil {
					time.AfterFunc(time.Duration(r.Int64N(int64(50*time.Millisecond))), cancel)
					for {
						if _, err := stream.Recv(); err != nil {
							if c := status.Code(err); c != codes.Canceled {
								t.Errorf("PoolEvents ended with %v, want CANCELED", err)
							}
							break
						}
					}
				}
				cancel()
			}
		})
	}
	wg.Wait()

	outcomes := got.snapshot()
	t.Logf("client outcomes: %v", outcomes)
	for k := range outcomes {
		if k != "OK" && !strings.HasPrefix(k, "Canceled ") && !strings.HasPrefix(k, "DeadlineExceeded ") {
			t.Errorf("a call cancelled by its client answered %s", k)
		}
	}
	waitPoolsIdle(t, client)
	waitFor(t, "the event subscribers are gone", func() bool { return subscribers(t, s) == 0 })
	_, handled := serverCalls(scrape(t, "http://"+s.d.MetricsAddr().String()+"/metrics"), "Extract")
	for code, n := range handled {
		if code != "OK" && code != "Canceled" && code != "DeadlineExceeded" {
			t.Errorf("the server answered %d cancelled Extract calls with %s", n, code)
		}
	}
	if st := poolStats(t, client, "article"); st.GetBreakerState() != poolv1.BreakerState_BREAKER_STATE_CLOSED {
		t.Errorf("article's breaker is %v after callers cancelled; cancellations must not count as failures", st.GetBreakerState())
	}
	for _, req := range []*poolv1.ExtractRequest{wasmReq, css} {
		if _, err := client.Extract(context.Background(), req); err != nil {
			t.Errorf("Extract after the disconnections: %v", err)
		}
	}
	// A trusted guest whose caller left runs on until it returns by
	// itself (README, "Trusted modules"); then its goroutine ends too. The
	// slack is for the daemon's own background work (a pool refilling);
	// a leak per cancelled call would be a hundred.
	waitGoroutinesBack(t, baseline+5)
}

// TestFaultAbandonedLeases takes a thousand leases on small pools and never
// releases one: each pool's capacity must come back as the leases expire,
// with every lease counted as expired and no instance left out.
func TestFaultAbandonedLeases(t *testing.T) {
	s := start(t, baseEnv(
		"NATIVE_POOL_SIZE=1", "NATIVE_MAX_INSTANCES=4",
		"LEASE_DEFAULT_TTL_MS=1000", "CHECKOUT_TIMEOUT_MS=5000",
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	waitPoolsIdle(t, client)
	baseline := runtime.NumGoroutine()

	// Fill both pools with leases of the default TTL, and abandon them.
	for _, pool := range []string{"css", "regex"} {
		for range 4 {
			if _, err := client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: pool}); err != nil {
				t.Fatalf("Checkout %s: %v", pool, err)
			}
		}
	}
	// The pools are full: an Extract that may not wait is refused.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err := client.Extract(short, cssRequest("<h1>x</h1>", "h1"))
	cancel()
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.ResourceExhausted {
		t.Errorf("Extract on a pool full of leases: %v, want DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED", err)
	}

	// A thousand more, each waiting for a lease before it to expire; short
	// TTLs so that this takes seconds, not the default's minutes.
	const total = 1000
	var taken atomic.Int64
	var got faultOutcomes
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				pool := []string{"css", "regex"}[i%2]
				_, err := client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: pool, Ttl: durationpb.New(20 * time.Millisecond)})
				if err == nil {
					taken.Add(1)
				}
				got.add(err)
			}
		})
	}
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("Checkout outcomes: %v", got.snapshot())
	for k := range got.snapshot() {
		if k != "OK" && k != "ResourceExhausted POOL_EXHAUSTED" {
			t.Errorf("Checkout while the pool is full of abandoned leases answered %s", k)
		}
	}
	if taken.Load() < total/2 {
		t.Fatalf("only %d of %d leases taken: capacity did not come back as leases expired", taken.Load(), total)
	}

	waitPoolsIdle(t, client)
	waitFor(t, "every lease counted as expired", func() bool {
		return metricValue(t, s, "riptide_leases_expired_total") >= float64(taken.Load()+8)
	})
	// Capacity is whole again: four callers at once on each pool.
	var full sync.WaitGroup
	for i := range 8 {
		full.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			req := cssRequest("<h1>x</h1>", "h1")
			if i%2 == 1 {
				req = &poolv1.ExtractRequest{
					Document: &poolv1.ExtractRequest_Html{Html: "<p>x</p>"},
					Spec:     &poolv1.ExtractRequest_Regex{Regex: &poolv1.RegexSpec{Pattern: "x"}},
				}
			}
			if _, err := client.Extract(ctx, req); err != nil {
				t.Errorf("Extract after the leases expired: %v", err)
			}
		})
	}
	full.Wait()
	for _, p := range allPools(t, client) {
		if p.GetTotal() > p.GetMax() {
			t.Errorf("pool %s has %d instances over its max %d", p.GetPool(), p.GetTotal(), p.GetMax())
		}
	}
	waitGoroutinesBack(t, baseline+5)
}

// TestFaultShutdownUnderLoad cancels Serve's context (what SIGTERM does)
// while 32 goroutines extract. One more call is kept in flight through the
// drain by a lease that expires seconds into it, so that /metrics is still
// served once every load goroutine has had its answer. Then: every call the
// server started either succeeded or was refused with SHUTTING_DOWN (no
// accepted call failed), the callers saw exactly that, calls after the
// drain get UNAVAILABLE, and Serve returns nil within SHUTDOWN_GRACE_MS.
func TestFaultShutdownUnderLoad(t *testing.T) {
	const (
		grace    = 15 * time.Second
		leaseTTL = 4 * time.Second // how long the held call keeps the daemon draining
	)
	s := start(t, baseEnv(
		"SHUTDOWN_GRACE_MS="+strconv.Itoa(int(grace.Milliseconds())),
		"NATIVE_POOL_SIZE=4", "NATIVE_MAX_INSTANCES=4", "CHECKOUT_TIMEOUT_MS=20000",
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()
	metricsURL := "http://" + s.d.MetricsAddr().String() + "/metrics"
	page := corpusOrArticlePage(t)

	var (
		got      faultOutcomes
		ok, shut atomic.Int64
		wg       sync.WaitGroup
		running  = make(chan struct{})
		once     sync.Once
	)
	req := &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: page},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a[href]", Attribute: "href", All: true}},
	}
	for range 32 {
		wg.Go(func() {
			for {
				_, err := client.Extract(ctx, req)
				got.add(err)
				switch {
				case err == nil:
					ok.Add(1)
					if ok.Load() >= 200 {
						once.Do(func() { close(running) })
					}
					continue
				case errorReason(err) == "SHUTTING_DOWN":
					shut.Add(1)
				}
				return // the first refusal ends this caller, as it would a well-behaved client
			}
		})
	}
	select {
	case <-running:
	case <-time.After(60 * time.Second):
		t.Fatal("the load never got going")
	}

	// Hold every regex instance on leases that expire 4 s from now, and
	// start a regex Extract that waits for one.
	for range 4 {
		if _, err := client.Checkout(ctx, &poolv1.CheckoutRequest{Pool: "regex", Ttl: durationpb.New(leaseTTL)}); err != nil {
			t.Fatalf("Checkout regex: %v", err)
		}
	}
	held := make(chan error, 1)
	go func() {
		_, err := client.Extract(ctx, &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: "<p>held through the drain</p>"},
			Spec:     &poolv1.ExtractRequest_Regex{Regex: &poolv1.RegexSpec{Pattern: "held"}},
		})
		held <- err
	}()
	waitFor(t, "the held call waits for a regex instance", func() bool { return poolStats(t, client, "regex").GetWaiters() == 1 })

	began := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	wg.Wait() // every load caller has had its refusal
	// The held call keeps the daemon draining: this scrape sees every load
	// call the server will ever count.
	body := scrape(t, metricsURL)
	heldEarly := false
	select {
	case err := <-held:
		heldEarly = true
		t.Errorf("the held call finished (%v) before the final scrape; leaseTTL is too short for this machine", err)
	default:
	}

	err := <-stopped
	took := time.Since(began)
	if err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
	if took > grace {
		t.Errorf("Serve returned %v after cancellation, over SHUTDOWN_GRACE_MS=%v", took, grace)
	}
	if heldEarly {
		return
	}
	if err := <-held; err != nil {
		t.Errorf("the call in flight through the drain failed: %v", err)
	}

	started, handled := serverCalls(body, "Extract")
	outcomes := got.snapshot()
	t.Logf("server: started %d handled %v; clients: %v", started, handled, outcomes)
	for code, n := range handled {
		if code != "OK" && code != "Unavailable" {
			t.Errorf("the server answered %d Extract calls with %s during the shutdown", n, code)
		}
	}
	// started counts the held call, not yet handled at the scrape.
	if started != handled["OK"]+handled["Unavailable"]+1 {
		t.Errorf("server started %d Extract calls but handled %v (+1 held): an accepted call did not finish", started, handled)
	}
	// The load callers' successes are the server's, less the warm-up-free
	// held call (not in handled yet), and every refusal the server made was
	// a SHUTTING_DOWN the callers saw.
	if int(ok.Load()) != handled["OK"] {
		t.Errorf("callers saw %d successes, the server handled %d OK", ok.Load(), handled["OK"])
	}
	if int(shut.Load()) != handled["Unavailable"] {
		t.Errorf("callers saw %d SHUTTING_DOWN, the server refused %d", shut.Load(), handled["Unavailable"])
	}
	for k := range outcomes {
		if k != "OK" && k != "Unavailable SHUTTING_DOWN" && k != "Unavailable " {
			t.Errorf("a caller got %s during the shutdown; want OK, UNAVAILABLE SHUTTING_DOWN or a refused connection", k)
		}
	}

	// After the drain, new calls cannot reach the daemon.
	late, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := client.Extract(late, req); status.Code(err) != codes.Unavailable && status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("Extract after shutdown: %v, want UNAVAILABLE", err)
	}
}

// TestFaultFlakyHealthChecks serves a module whose health probe fails at
// random (testdata/flaky.wat) with the health loop running every 100 ms
// and validation on checkout: instances are killed from under the pool
// through its real health checks while callers extract. No caller may see
// an error, the pool must report the failures and replace the instances,
// stay within its bounds, and the other pools must not notice.
func TestFaultFlakyHealthChecks(t *testing.T) {
	s := start(t, wasmEnv(modulesDir(t, "flaky"),
		"WASM_POOL_SIZE=2", "WASM_MAX_INSTANCES=4",
		"WASM_HEALTH_CHECK_INTERVAL_MS=100", "HEALTH_CHECK_ENABLED=true",
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ev, _ := subscribe(t, s, s.conn, &poolv1.PoolEventsRequest{
		Kinds: []poolv1.EventKind{poolv1.EventKind_EVENT_KIND_HEALTH_CHECK_FAILED},
		Pools: []string{"flaky"},
	}, true)

	var got faultOutcomes
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				if g%4 == 3 {
					got.add(func() error {
						_, err := client.Extract(context.Background(), cssRequest(articlePage, "h1"))
						return err
					}())
					continue
				}
				want := fmt.Sprintf(`{"ok":{"g":%d,"i":%d}}`, g, i)
				resp, err := client.Extract(context.Background(), wasmRequest("flaky", "", want))
				got.add(err)
				if err == nil && resp.GetResult().AsMap()["g"] != float64(g) {
					t.Errorf("flaky answered %v to %s", resp.GetResult().AsMap(), want)
				}
				time.Sleep(2 * time.Millisecond) // let the health loop run between calls
			}
		})
	}
	wg.Wait()
	if o := got.snapshot(); len(o) != 1 || o["OK"] != 8*40 {
		t.Errorf("outcomes with instances failing health checks: %v, want all %d OK", o, 8*40)
	}
	ev.next(t, "HealthCheckFailed on flaky", func(e *poolv1.PoolEvent) bool { return e.GetHealthCheckFailed() != nil })
	waitPoolsIdle(t, client)
	st := poolStats(t, client, "flaky")
	var destroyed uint64
	for _, n := range st.GetDestroyed() {
		destroyed += n
	}
	if destroyed == 0 || st.GetCreated() <= 2 {
		t.Errorf("flaky: destroyed %v created %d; want instances replaced", st.GetDestroyed(), st.GetCreated())
	}
	if st.GetTotal() > st.GetMax() {
		t.Errorf("flaky has %d instances, over its max %d", st.GetTotal(), st.GetMax())
	}
	waitFor(t, "flaky is back to its warm size", func() bool { return poolStats(t, client, "flaky").GetTotal() >= 2 })
	for _, p := range []string{"css", "article"} {
		if st := poolStats(t, client, p); st.GetBreakerState() != poolv1.BreakerState_BREAKER_STATE_CLOSED || st.GetCreateFailures() != 0 {
			t.Errorf("pool %s affected by flaky: %v", p, st)
		}
	}
}

// TestFlakyModuleInSync checks testdata/flaky.wasm is what wat2wasm makes
// of flaky.wat.
func TestFlakyModuleInSync(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed (Debian package wabt): cannot check testdata/flaky.wasm against flaky.wat")
	}
	out := filepath.Join(t.TempDir(), "flaky.wasm")
	if b, err := exec.Command(wat2wasm, filepath.Join("testdata", "flaky.wat"), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(filepath.Join("testdata", "flaky.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Error("testdata/flaky.wasm differs from wat2wasm's build of flaky.wat: rebuild it with wat2wasm flaky.wat -o flaky.wasm")
	}
}
