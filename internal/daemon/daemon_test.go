package daemon_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/daemon"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// started is a daemon serving on loopback ports, stopped by the test's
// cleanup (or earlier by calling stop).
type started struct {
	d    *daemon.Daemon
	conn *grpc.ClientConn
	stop func() error // cancels Serve and returns its error
}

// baseEnv is a hermetic environment: loopback ports picked by the kernel,
// small pools, no on-disk cache, and the WASM pools off unless a test turns
// them on. Settings in extra come first: like os.Getenv, the configuration
// takes the first of duplicate variables.
func baseEnv(extra ...string) []string {
	return append(extra, []string{
		"GRPC_ADDR=127.0.0.1:0",
		"METRICS_ADDR=127.0.0.1:0",
		"NATIVE_POOL_SIZE=2",
		"NATIVE_MAX_INSTANCES=4",
		"WASM_POOL_ENABLED=false",
		"WASM_COMPILATION_CACHE_DIR=",
		"SHUTDOWN_GRACE_MS=10000",
		"HOME=" + os.TempDir(),
	}...)
}

func start(t *testing.T, env []string, dialOpts ...grpc.DialOption) *started {
	t.Helper()
	cfg, err := config.Load(nil, env)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	d, err := daemon.New(context.Background(), cfg, daemon.Options{Version: "test"})
	if err != nil {
		t.Fatalf("daemon.New: %v", err)
	}
	if err := d.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()

	target := d.GRPCAddr().String()
	if d.GRPCAddr().Network() == "unix" {
		target = "unix://" + target
	}
	if len(dialOpts) == 0 {
		dialOpts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	// stop may be called from a test's own goroutine while the test fails
	// and its cleanup calls it too: once, and without t.Fatal, which only
	// the test's goroutine may call.
	var stopOnce sync.Once
	var stopErr error
	s := &started{d: d, conn: conn}
	s.stop = func() error {
		stopOnce.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("Serve did not return within 30s of cancellation")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		conn.Close()
		if err := s.stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	waitServing(t, conn)
	return s
}

// waitServing polls the standard health service until the daemon has
// finished start-up.
func waitServing(t *testing.T, conn *grpc.ClientConn) {
	t.Helper()
	hc := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not SERVING within 20s: %v %v", resp, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeHealthReflectionMetrics(t *testing.T) {
	s := start(t, baseEnv())
	ctx := context.Background()

	hc := healthpb.NewHealthClient(s.conn)
	for _, svc := range []string{"", poolv1.PoolService_ServiceDesc.ServiceName} {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q = %v, %v; want SERVING", svc, resp, err)
		}
	}

	// Reflection lists the services, as grpcurl list does.
	stream, err := reflectionpb.NewServerReflectionClient(s.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, svc := range r.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	for _, want := range []string{"riptide.pool.v1.PoolService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
	stream.CloseSend()

	// A real extraction, so that the metrics have something to count.
	client := poolv1.NewPoolServiceClient(s.conn)
	resp, err := client.Extract(ctx, &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: "<h1> Hello,\n  world </h1>"},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "h1"}},
	})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if got := resp.GetValues(); len(got) != 1 || got[0] != "Hello, world" {
		t.Errorf("Extract values = %q, want [Hello, world]", got)
	}
	// And one that the token stream answers.
	resp, err = client.Extract(ctx, &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: "<title>T</title><p>x"},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "title"}},
	})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if got := resp.GetValues(); len(got) != 1 || got[0] != "T" {
		t.Errorf("Extract values = %q, want [T]", got)
	}

	body := scrape(t, "http://"+s.d.MetricsAddr().String()+"/metrics")
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Extract",grpc_service="riptide.pool.v1.PoolService",grpc_type="unary"} 2`,
		`grpc_server_handling_seconds_bucket{`,
		`riptide_pool_instances{pool="css",state="idle"}`,
		`riptide_pool_checkouts_total{pool="css"} 2`,
		`riptide_extraction_duration_seconds_count{extractor="css",outcome="ok",pool="css"} 2`,
		`riptide_css_stream_total{result="answered"} 1`,
		`riptide_css_stream_total{result="gave_up"} 0`,
		`riptide_build_info{version="test"} 1`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// TestGracefulShutdownFinishesCallInFlight starts a slow extraction,
// cancels the daemon while it runs, and checks that the call still succeeds
// and that Serve returns nil.
func TestGracefulShutdownFinishesCallInFlight(t *testing.T) {
	s := start(t, baseEnv("MAX_DOCUMENT_BYTES=33554432", "MAX_RESULT_BYTES=33554432"))
	client := poolv1.NewPoolServiceClient(s.conn)

	// A regex over raw markup of a few megabytes takes long enough (tens to
	// hundreds of milliseconds) to be in flight when shutdown begins.
	doc := "<p>" + strings.Repeat("ab", 1<<19) + "</p>"
	req := &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: doc},
		Spec: &poolv1.ExtractRequest_Regex{Regex: &poolv1.RegexSpec{
			Pattern: `(a|b)*c`, Source: poolv1.RegexSource_REGEX_SOURCE_HTML,
		}},
	}
	type result struct {
		resp *poolv1.ExtractResponse
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := client.Extract(context.Background(), req)
		res <- result{resp, err}
	}()
	waitInFlight(t, s, "Extract")
	stopErr := make(chan error, 1)
	go func() { stopErr <- s.stop() }()

	// While the call drains, health says NOT_SERVING and a new call is
	// refused with SHUTTING_DOWN.
	hc := healthpb.NewHealthClient(s.conn)
	for {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatalf("health while draining: %v", err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
		time.Sleep(time.Millisecond)
	}
	_, err := client.ListExtractors(context.Background(), &poolv1.ListExtractorsRequest{})
	if reason := errorReason(err); status.Code(err) != codes.Unavailable || reason != "SHUTTING_DOWN" {
		t.Errorf("new call while draining: %v (reason %q), want UNAVAILABLE SHUTTING_DOWN", err, reason)
	}

	if err := <-stopErr; err != nil {
		t.Fatalf("Serve returned %v, want nil", err)
	}
	r := <-res
	if r.err != nil {
		t.Fatalf("call in flight failed during shutdown: %v", r.err)
	}
	if len(r.resp.GetMatches()) != 0 {
		t.Errorf("matches = %d, want 0", len(r.resp.GetMatches()))
	}
}

func errorReason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// waitInFlight waits until the daemon has started more calls of method
// than it has finished, from its own metrics.
func waitInFlight(t *testing.T, s *started, method string) {
	t.Helper()
	url := "http://" + s.d.MetricsAddr().String() + "/metrics"
	started := `grpc_server_started_total{grpc_method="` + method + `",grpc_service="riptide.pool.v1.PoolService",grpc_type="unary"} 1`
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(scrape(t, url), started) {
		if time.Now().After(deadline) {
			t.Fatal("the call never started")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDrainingRefusesNewCalls(t *testing.T) {
	s := start(t, baseEnv())
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	// After shutdown the connection is gone: new calls fail UNAVAILABLE.
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := client.ListExtractors(ctx, &poolv1.ListExtractorsRequest{})
	if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
		t.Errorf("call after shutdown: %v, want UNAVAILABLE", err)
	}
}

func TestUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "riptide")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "poold.sock")
	// A stale socket file from an unclean exit must not stop the daemon.
	if l, err := net.Listen("unix", sock); err == nil {
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
	}
	s := start(t, baseEnv("GRPC_ADDR=unix://"+sock))
	_, err = poolv1.NewPoolServiceClient(s.conn).ListExtractors(context.Background(), &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatalf("ListExtractors over unix socket: %v", err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left behind after shutdown: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "test CA", true)
	srv, srvKey := newCert(t, ca, caKey, "127.0.0.1", false)
	cli, cliKey := newCert(t, ca, caKey, "client", false)
	write := func(name string, blocks ...*pem.Block) string {
		p := filepath.Join(dir, name)
		var b []byte
		for _, blk := range blocks {
			b = append(b, pem.EncodeToMemory(blk)...)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := write("ca.pem", certBlock(ca))
	certFile := write("server.pem", certBlock(srv))
	keyFile := write("server-key.pem", keyBlock(t, srvKey))

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	clientCert := tls.Certificate{Certificate: [][]byte{cli.Raw}, PrivateKey: cliKey}
	env := baseEnv("TLS_CERT_FILE="+certFile, "TLS_KEY_FILE="+keyFile, "TLS_CLIENT_CA_FILE="+caFile)
	s := start(t, env, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		RootCAs: roots, Certificates: []tls.Certificate{clientCert}, ServerName: "127.0.0.1",
	})))
	if _, err := poolv1.NewPoolServiceClient(s.conn).ListExtractors(context.Background(), &poolv1.ListExtractorsRequest{}); err != nil {
		t.Fatalf("mTLS call: %v", err)
	}

	// Without a client certificate the handshake is refused.
	conn, err := grpc.NewClient(s.d.GRPCAddr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		RootCAs: roots, ServerName: "127.0.0.1",
	})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := poolv1.NewPoolServiceClient(conn).ListExtractors(ctx, &poolv1.ListExtractorsRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("call without client certificate: %v, want UNAVAILABLE", err)
	}
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func certBlock(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }

func keyBlock(t *testing.T, k *ecdsa.PrivateKey) *pem.Block {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
}

// TestShuttingDownStatus checks the status new calls get while draining
// carries the API's reason and retry advice.
func TestShuttingDownStatus(t *testing.T) {
	st := status.Convert(server.ShuttingDown())
	if st.Code() != codes.Unavailable {
		t.Fatalf("code = %v", st.Code())
	}
	reason := errorReason(st.Err())
	var retry bool
	for _, d := range st.Details() {
		if d, ok := d.(*errdetails.RetryInfo); ok {
			retry = d.GetRetryDelay() != nil
		}
	}
	if reason != "SHUTTING_DOWN" || !retry {
		t.Errorf("reason %q retry %v, want SHUTTING_DOWN with RetryInfo", reason, retry)
	}
}

// TestMetricsXPathCache: compiled XPath expressions have their own cache
// beside the selectors' (SELECTOR_CACHE_SIZE sizes both), and /metrics
// counts it as cache="xpath": the first evaluation of an expression
// compiles it, the second finds it.
func TestMetricsXPathCache(t *testing.T) {
	s := start(t, baseEnv())
	client := poolv1.NewPoolServiceClient(s.conn)
	for range 2 {
		// A positional predicate: evaluated on the tree, through the cache.
		resp, err := client.Extract(context.Background(), &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: "<ul><li>a</li><li>b</li></ul>"},
			Spec:     &poolv1.ExtractRequest_Xpath{Xpath: &poolv1.XpathSpec{Expression: "string(//li[2])"}},
		})
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		if got := resp.GetValues(); len(got) != 1 || got[0] != "b" {
			t.Fatalf("Extract values = %q, want [b]", got)
		}
	}
	// One compilation; the rest are hits (a call may look the expression
	// up more than once).
	for name, want := range map[string]float64{
		`riptide_cache_misses_total{cache="xpath"}`: 1,
		`riptide_cache_entries{cache="xpath"}`:      1,
	} {
		if got := metricValue(t, s, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := metricValue(t, s, `riptide_cache_hits_total{cache="xpath"}`); got < 1 {
		t.Errorf(`riptide_cache_hits_total{cache="xpath"} = %v, want at least 1`, got)
	}
}
