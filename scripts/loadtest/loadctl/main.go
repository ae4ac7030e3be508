// Command loadctl is the Go half of scripts/loadtest.sh: it builds the
// request files that ghz replays, reads a running daemon's figures, checks
// the statuses a saturated daemon answers, and turns ghz reports into the
// rows of docs/LOAD.md.
//
//	loadctl reqs    -corpus DIR -out DIR
//	loadctl stats   -grpc ADDR -metrics URL
//	loadctl check   -grpc ADDR -req FILE -c N -n N [-timeout D]
//	loadctl summary -name NAME -stats-before FILE -stats-after FILE GHZ.json
//	loadctl settle  -base FILE -now FILE [-tolerance 0.10]
//
// Every subcommand talks to loopback addresses only and is bounded: check by
// its request count and per-call timeout, stats by a ten-second deadline.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protodelim"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadctl reqs|stats|check|summary|settle [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"reqs": reqs, "stats": stats, "check": check, "summary": summary, "settle": settle,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "loadctl: unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadctl "+os.Args[1]+":", err)
		os.Exit(1)
	}
}

// loopback refuses any address that is not on the loopback interface: the
// load test must never aim at another machine.
func loopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", addr)
	}
	return nil
}

// page is one corpus page.
type page struct {
	name string
	html string
}

// workloads are the request shapes of the load test, by name: what a
// crawler asks most (links, a regex over the text, a few fields from one
// parse, the article).
var workloads = map[string]func(p page) *poolv1.ExtractRequest{
	"css": func(p page) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: p.html},
			Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a[href]", Attribute: "href", All: true}},
		}
	},
	"regex": func(p page) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: p.html},
			Spec:     &poolv1.ExtractRequest_Regex{Regex: &poolv1.RegexSpec{Pattern: `\b(?P<year>(?:19|20)\d\d)\b`, All: true}},
		}
	},
	"fields": func(p page) *poolv1.ExtractRequest {
		css := func(s *poolv1.CssSpec) *poolv1.FieldSpec {
			return &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Css{Css: s}}
		}
		return &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: p.html},
			Spec: &poolv1.ExtractRequest_Fields{Fields: &poolv1.FieldsSpec{Fields: map[string]*poolv1.FieldSpec{
				"title":    css(&poolv1.CssSpec{Selector: "title"}),
				"heading":  css(&poolv1.CssSpec{Selector: "h1, h2"}),
				"links":    css(&poolv1.CssSpec{Selector: "a[href]", Attribute: "href", All: true}),
				"lede":     css(&poolv1.CssSpec{Selector: "p", All: true, Limit: 3}),
				"years":    {Spec: &poolv1.FieldSpec_Regex{Regex: &poolv1.RegexSpec{Pattern: `\b(?:19|20)\d\d\b`, All: true}}},
				"metadesc": css(&poolv1.CssSpec{Selector: `meta[name="description"]`, Attribute: "content"}),
			}}},
		}
	},
	"wasm": func(p page) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: p.html},
			Url:      "http://fakehost/test/page.html",
			Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Module: "article", Mode: "article"}},
		}
	},
}

// reqs writes, for each workload, <workload>-median.bin (the corpus page of
// median size) and <workload>-mix.bin (every page, smallest first), as the
// varint-delimited messages ghz's --binary-file replays in turn.
func reqs(args []string) error {
	fs := flag.NewFlagSet("reqs", flag.ExitOnError)
	corpus := fs.String("corpus", "", "the readability corpus directory (*/source.html)")
	out := fs.String("out", "", "directory for the request files")
	fs.Parse(args)
	paths, _ := filepath.Glob(filepath.Join(*corpus, "*", "source.html"))
	if len(paths) == 0 {
		return fmt.Errorf("no pages at %s/*/source.html", *corpus)
	}
	pages := make([]page, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		pages = append(pages, page{name: filepath.Base(filepath.Dir(p)), html: ghzSafe(string(b))})
	}
	slices.SortFunc(pages, func(a, b page) int {
		return cmp.Or(cmp.Compare(len(a.html), len(b.html)), cmp.Compare(a.name, b.name))
	})
	median := pages[len(pages)/2]
	total := 0
	for _, p := range pages {
		total += len(p.html)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for name, build := range workloads {
		for set, ps := range map[string][]page{"median": {median}, "mix": pages} {
			var buf bytes.Buffer
			for _, p := range ps {
				if _, err := protodelim.MarshalTo(&buf, build(p)); err != nil {
					return err
				}
			}
			if err := os.WriteFile(filepath.Join(*out, name+"-"+set+".bin"), buf.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	fmt.Printf("median page %s (%d bytes); mix of %d pages, mean %d bytes\n", median.name, len(median.html), len(pages), total/len(pages))
	return nil
}

// ghzSafe makes a page something ghz v0.93.0 can replay: valid UTF-8 (a
// proto string), and no "{{", because ghz parses even binary call data as
// a Go template and refuses pages whose scripts hold {{...}} (a space goes
// between the braces: the page's size and structure are unchanged).
func ghzSafe(html string) string {
	html = strings.ToValidUTF8(html, "\uFFFD")
	for strings.Contains(html, "{{") {
		html = strings.ReplaceAll(html, "{{", "{ {")
	}
	return html
}

// Stats are the daemon's figures the load test tracks.
type Stats struct {
	Goroutines float64              `json:"goroutines"`
	OpenFDs    float64              `json:"open_fds"`
	RSSBytes   float64              `json:"rss_bytes"` // from /metrics; the script records ps -o rss too
	Pools      map[string]PoolStats `json:"pools"`
}

// PoolStats is one pool's part of Stats.
type PoolStats struct {
	Total     uint32  `json:"total"`
	InUse     uint32  `json:"in_use"`
	Leased    uint32  `json:"leased"`
	Waiters   uint32  `json:"waiters"`
	Checkouts uint64  `json:"checkouts"`
	Timeouts  uint64  `json:"timeouts"`
	P99WaitMS float64 `json:"p99_wait_ms"`
}

func dial(addr string) (*grpc.ClientConn, error) {
	if err := loopback(addr); err != nil {
		return nil, err
	}
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
}

// stats prints Stats as JSON: GetMetrics for the pools, /metrics for the
// process.
func stats(args []string) error {
	fs := flag.NewFlagSet("stats", flag.ExitOnError)
	addr := fs.String("grpc", "127.0.0.1:50051", "daemon gRPC address")
	murl := fs.String("metrics", "http://127.0.0.1:9090/metrics", "daemon /metrics URL")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := readStats(ctx, *addr, *murl)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(s)
}

func readStats(ctx context.Context, addr, murl string) (*Stats, error) {
	conn, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := poolv1.NewPoolServiceClient(conn).GetMetrics(ctx, &poolv1.GetMetricsRequest{})
	if err != nil {
		return nil, fmt.Errorf("GetMetrics: %w", err)
	}
	s := &Stats{Pools: map[string]PoolStats{}}
	for _, p := range resp.GetPools() {
		s.Pools[p.GetPool()] = PoolStats{
			Total: p.GetTotal(), InUse: p.GetInUse(), Leased: p.GetLeased(), Waiters: p.GetWaiters(),
			Checkouts: p.GetCheckouts(), Timeouts: p.GetTimeouts(),
			P99WaitMS: float64(p.GetP99Wait().AsDuration().Microseconds()) / 1000,
		}
	}
	u, err := urlOnLoopback(murl)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer hr.Body.Close()
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		return nil, err
	}
	for name, dst := range map[string]*float64{
		"go_goroutines": &s.Goroutines, "process_open_fds": &s.OpenFDs, "process_resident_memory_bytes": &s.RSSBytes,
	} {
		v, ok := sample(body, name)
		if !ok {
			return nil, fmt.Errorf("/metrics lacks %s", name)
		}
		*dst = v
	}
	return s, nil
}

func urlOnLoopback(u string) (string, error) {
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		return "", fmt.Errorf("%s: want an http:// URL", u)
	}
	host, _, _ := strings.Cut(rest, "/")
	return u, loopback(host)
}

// sample returns the value of an unlabelled series in a Prometheus text
// exposition.
func sample(body []byte, name string) (float64, bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)`).FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	return v, err == nil
}

// outcome names a call's result the way the requirements speak of it:
// "OK", or code, reason and whether RetryInfo came with it.
func outcome(err error) string {
	if err == nil {
		return "OK"
	}
	st := status.Convert(err)
	var reason string
	var retry bool
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay() != nil
		}
	}
	s := st.Code().String() + " " + cmp.Or(reason, "(no ErrorInfo)")
	if retry {
		s += " +RetryInfo"
	}
	return s
}

// allowed reports whether an outcome is acceptable under load: success, or
// the pool's clear "busy, retry later".
func allowed(o string) bool {
	return o == "OK" || o == codes.ResourceExhausted.String()+" POOL_EXHAUSTED +RetryInfo"
}

// check replays the requests of a file from c goroutines, n calls in all,
// and prints the outcome distribution; it fails if any outcome is neither
// OK nor RESOURCE_EXHAUSTED POOL_EXHAUSTED with RetryInfo.
func check(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	addr := fs.String("grpc", "127.0.0.1:50051", "daemon gRPC address")
	file := fs.String("req", "", "request file (varint-delimited ExtractRequests)")
	c := fs.Int("c", 256, "concurrent callers")
	n := fs.Int("n", 2000, "calls in all")
	timeout := fs.Duration("timeout", 20*time.Second, "deadline of each call")
	fs.Parse(args)
	reqs, err := readRequests(*file)
	if err != nil {
		return err
	}
	conn, err := dial(*addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := poolv1.NewPoolServiceClient(conn)

	var (
		mu   sync.Mutex
		dist = map[string]int{}
		next = make(chan int)
		wg   sync.WaitGroup
	)
	for range *c {
		wg.Go(func() {
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), *timeout)
				_, err := client.Extract(ctx, reqs[i%len(reqs)])
				cancel()
				o := outcome(err)
				mu.Lock()
				dist[o]++
				mu.Unlock()
			}
		})
	}
	for i := range *n {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(dist); err != nil {
		return err
	}
	var bad []string
	for o := range dist {
		if !allowed(o) {
			bad = append(bad, o)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("outcomes other than OK and RESOURCE_EXHAUSTED POOL_EXHAUSTED +RetryInfo: %q", bad)
	}
	return nil
}

func readRequests(file string) ([]*poolv1.ExtractRequest, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(b)
	var out []*poolv1.ExtractRequest
	opts := protodelim.UnmarshalOptions{MaxSize: -1}
	for {
		m := new(poolv1.ExtractRequest)
		err := opts.UnmarshalFrom(r, m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no requests", file)
	}
	return out, nil
}

// ghzReport is the part of ghz's JSON report the summary reads.
type ghzReport struct {
	Count     uint64         `json:"count"`
	Total     time.Duration  `json:"total"`
	Rps       float64        `json:"rps"`
	ErrorDist map[string]int `json:"errorDistribution"`
	Codes     map[string]int `json:"statusCodeDistribution"`
	Latency   []struct {
		Percentage int           `json:"percentage"`
		Latency    time.Duration `json:"latency"`
	} `json:"latencyDistribution"`
}

// summary prints one Markdown table row from a ghz JSON report and the
// daemon's stats after the run (and the RSS in KiB from ps, -rss-kb).
func summary(args []string) error {
	fs := flag.NewFlagSet("summary", flag.ExitOnError)
	name := fs.String("name", "", "row name")
	after := fs.String("stats", "", "loadctl stats output after the run")
	rss := fs.Int("rss-kb", 0, "RSS after the run from ps -o rss, KiB")
	peak := fs.Int("peak-rss-kb", 0, "highest RSS sampled during the run from ps -o rss, KiB")
	fs.Parse(args)
	var r ghzReport
	if err := readJSON(fs.Arg(0), &r); err != nil {
		return err
	}
	var s Stats
	if err := readJSON(*after, &s); err != nil {
		return err
	}
	pct := func(p int) string {
		for _, l := range r.Latency {
			if l.Percentage == p {
				return fmtDur(l.Latency)
			}
		}
		return "n/a"
	}
	var codes []string
	for c, k := range r.Codes {
		codes = append(codes, fmt.Sprintf("%s %d", c, k))
	}
	slices.Sort(codes)
	var waits []string
	for _, p := range slices.Sorted(maps.Keys(s.Pools)) {
		if st := s.Pools[p]; st.Checkouts > 0 {
			waits = append(waits, fmt.Sprintf("%s %.2f", p, st.P99WaitMS))
		}
	}
	fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %d / %d | %s |\n",
		*name, r.Count, r.Rps, pct(50), pct(99), strings.Join(codes, ", "),
		max(*peak, *rss)/1024, *rss/1024, strings.Join(waits, ", "))
	for msg, k := range r.ErrorDist {
		fmt.Fprintf(os.Stderr, "  %s: %d × %s\n", *name, k, msg)
	}
	return nil
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
}

func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// settle compares the stats at the end of a soak with those after warm-up:
// goroutines, open fds and RSS within the tolerance, every pool's in_use
// and leased at 0. RSS is ps's figure, passed in KiB.
func settle(args []string) error {
	fs := flag.NewFlagSet("settle", flag.ExitOnError)
	base := fs.String("base", "", "stats after warm-up")
	now := fs.String("now", "", "stats at the end")
	baseRSS := fs.Int("base-rss-kb", 0, "RSS after warm-up from ps -o rss, KiB")
	nowRSS := fs.Int("now-rss-kb", 0, "RSS at the end from ps -o rss, KiB")
	tol := fs.Float64("tolerance", 0.10, "allowed relative growth")
	fs.Parse(args)
	var b, n Stats
	if err := readJSON(*base, &b); err != nil {
		return err
	}
	if err := readJSON(*now, &n); err != nil {
		return err
	}
	var errs []error
	within := func(what string, before, after float64) {
		ok := after <= before*(1+*tol)
		fmt.Printf("%-12s after warm-up %10.0f  at the end %10.0f  %+6.1f%%  %s\n", what, before, after,
			100*(after-before)/max(before, 1), map[bool]string{true: "ok", false: "OVER"}[ok])
		if !ok {
			errs = append(errs, fmt.Errorf("%s grew from %.0f to %.0f, over %.0f%%", what, before, after, 100**tol))
		}
	}
	within("goroutines", b.Goroutines, n.Goroutines)
	within("open fds", b.OpenFDs, n.OpenFDs)
	within("rss KiB", float64(*baseRSS), float64(*nowRSS))
	for _, p := range slices.Sorted(maps.Keys(n.Pools)) {
		st := n.Pools[p]
		fmt.Printf("pool %-10s in_use %d leased %d waiters %d total %d\n", p, st.InUse, st.Leased, st.Waiters, st.Total)
		if st.InUse != 0 || st.Leased != 0 || st.Waiters != 0 {
			errs = append(errs, fmt.Errorf("pool %s: in_use %d leased %d waiters %d at the end", p, st.InUse, st.Leased, st.Waiters))
		}
	}
	return errors.Join(errs...)
}
