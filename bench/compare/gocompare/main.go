// Command gocompare is the Go side of the comparison benchmarks in
// docs/COMPARE.md (bench/compare/run.sh runs it):
//
//	gocompare wait -addr A              wait until the daemon at A is SERVING
//	gocompare sweep -addr A -corpus D   css Extract latency and throughput against concurrency
//	gocompare articles -addr A -corpus D
//	                                    native Go readability in-process vs the WASM article module over gRPC
//	gocompare parts -corpus D           what one css call's parts cost in-process: tokenize, parse, select, codec
//	gocompare gc -bin B -corpus D -variant GOGC=100 -variant GOGC=400,GOMEMLIMIT=256MiB
//	                                    one daemon per GC setting, loaded in turn: throughput, latency, CPU per call, RSS
//
// Output lines are key=value, read by report.py and by the plot program.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	readability "codeberg.org/readeck/go-readability/v2"
	"github.com/andybalholm/cascadia"
	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
	"golang.org/x/net/html"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gocompare wait|sweep|articles|articleload|parts|gc [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:50051", "the daemon's gRPC address")
	corpus := fs.String("corpus", "", "the readability corpus directory")
	callers := fs.String("callers", "1,2,4,8,16", "sweep: caller counts")
	dur := fs.Duration("duration", 2*time.Second, "sweep: time at each caller count, per repeat")
	repeat := fs.Int("repeat", 3, "sweep: passes over the caller counts")
	rounds := fs.Int("rounds", 5, "articles: rounds on the median page")
	roundsAll := fs.Int("rounds-all", 1, "articles: rounds on all pages")
	timeout := fs.Duration("timeout", 60*time.Second, "wait: how long to wait")
	pid := fs.Int("daemon-pid", 0, "articles: the daemon's pid, to report its CPU time per call; articleload: its memory")
	bin := fs.String("bin", "bin/riptide-poold", "gc: the daemon binary")
	var variants []string
	fs.Func("variant", "gc: one daemon's settings, comma-separated NAME=value (repeat the flag; the first is the baseline)", func(s string) error {
		variants = append(variants, s)
		return nil
	})
	fs.Parse(os.Args[2:])

	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "wait":
		err = wait(ctx, *addr, *timeout)
	case "sweep":
		err = withConn(*addr, func(c poolv1.PoolServiceClient) error {
			counts, err := parseInts(*callers)
			if err != nil {
				return err
			}
			return sweep(ctx, c, *corpus, counts, *dur, *repeat)
		})
	case "gc":
		var counts []int
		if counts, err = parseInts(*callers); err == nil {
			err = gcCompare(ctx, *bin, *corpus, variants, counts, *dur, *rounds)
		}
	case "parts":
		err = parts(*corpus, *rounds)
	case "articleload":
		err = withConn(*addr, func(c poolv1.PoolServiceClient) error {
			counts, err := parseInts(*callers)
			if err != nil {
				return err
			}
			return articleLoad(ctx, c, *corpus, counts, *dur, *pid)
		})
	case "articles":
		err = withConn(*addr, func(c poolv1.PoolServiceClient) error {
			return articles(ctx, c, *corpus, *rounds, *roundsAll, *pid)
		})
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gocompare:", err)
		os.Exit(1)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func withConn(addr string, f func(poolv1.PoolServiceClient) error) error {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(poolv1.NewPoolServiceClient(conn))
}

// wait polls grpc.health.v1 until the daemon answers SERVING: start-up work
// (compiling the WASM module, warming the pools) is done.
func wait(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("daemon at %s not SERVING after %v (last error: %v)", addr, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type page struct {
	name, dir, src string
}

// loadPages reads the corpus sorted by size then name, as the Go benchmarks
// sort it; the median page is pages[len(pages)/2].
func loadPages(dir string) ([]page, error) {
	dirs, err := quality.Pages(dir)
	if err != nil {
		return nil, err
	}
	pages := make([]page, 0, len(dirs))
	for _, d := range dirs {
		src, err := quality.Source(d)
		if err != nil {
			return nil, err
		}
		pages = append(pages, page{filepath.Base(d), d, src})
	}
	slices.SortFunc(pages, func(a, b page) int {
		if c := len(a.src) - len(b.src); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return pages, nil
}

// sweep runs n callers, each making back-to-back css Extract calls (every
// a@href of the median page), for dur at each caller count, repeat times,
// and prints the median throughput and latency percentiles. Callers share one connection, as
// goroutines of one client process would.
func sweep(ctx context.Context, c poolv1.PoolServiceClient, corpus string, counts []int, dur time.Duration, repeat int) error {
	pages, err := loadPages(corpus)
	if err != nil {
		return err
	}
	pg := pages[len(pages)/2]
	req := &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: pg.src},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a", Attribute: "href", All: true}},
	}
	fmt.Printf("# sweep: css Extract (a@href, all) on %s, %d bytes; %d × %v per caller count; GOMAXPROCS %d\n",
		pg.name, len(pg.src), repeat, dur, runtime.GOMAXPROCS(0))
	for range 20 { // warm the connection and the pool
		if _, err := c.Extract(ctx, req); err != nil {
			return err
		}
	}
	type result struct{ rps, p50, p90, p99 float64 }
	results := make(map[int][]result)
	var (
		errs  = make(map[int]int64)
		calls = make(map[int]int)
	)
	// Each repeat visits every caller count in turn, so that load from
	// elsewhere on the machine spreads over all of them; a figure is the
	// median over repeats.
	for range repeat {
		for _, n := range counts {
			lat, fails, wall := sweepOnce(ctx, c, req, n, dur)
			slices.Sort(lat)
			pct := func(p float64) float64 {
				if len(lat) == 0 {
					return 0
				}
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds())
			}
			results[n] = append(results[n], result{float64(len(lat)) / wall.Seconds(), pct(0.50), pct(0.90), pct(0.99)})
			errs[n] += fails
			calls[n] += len(lat)
		}
	}
	for _, n := range counts {
		rs := results[n]
		med := func(f func(result) float64) float64 {
			xs := make([]float64, len(rs))
			for i, r := range rs {
				xs[i] = f(r)
			}
			slices.Sort(xs)
			return median(xs)
		}
		fmt.Printf("sweep callers=%d calls=%d errors=%d repeats=%d rps=%.1f p50_ns=%.0f p90_ns=%.0f p99_ns=%.0f\n",
			n, calls[n], errs[n], len(rs), med(func(r result) float64 { return r.rps }),
			med(func(r result) float64 { return r.p50 }), med(func(r result) float64 { return r.p90 }),
			med(func(r result) float64 { return r.p99 }))
	}
	return nil
}

// parts times, in this process, the pieces of one css Extract of the median
// page (every a@href): x/net/html's tokenizer alone (a floor for any
// parser built on it), html.Parse, Parse plus the cascadia selection, and
// the protobuf encoding and decoding of the request (done once by the
// client and once by the daemon); interleaved, median over rounds.
func parts(corpus string, rounds int) error {
	pages, err := loadPages(corpus)
	if err != nil {
		return err
	}
	src := pages[len(pages)/2].src
	sel := cascadia.MustCompile("a")
	req := &poolv1.ExtractRequest{
		Document: &poolv1.ExtractRequest_Html{Html: src},
		Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a", Attribute: "href", All: true}},
	}
	wire, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"tokenize", func() error {
			z := html.NewTokenizer(strings.NewReader(src))
			for z.Next() != html.ErrorToken {
			}
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		}},
		{"parse", func() error {
			_, err := html.Parse(strings.NewReader(src))
			return err
		}},
		{"parse+select", func() error {
			doc, err := html.Parse(strings.NewReader(src))
			if err != nil {
				return err
			}
			var hrefs []string
			for _, n := range cascadia.QueryAll(doc, sel) {
				for _, a := range n.Attr {
					if a.Key == "href" {
						hrefs = append(hrefs, a.Val)
					}
				}
			}
			_ = hrefs
			return nil
		}},
		{"proto-marshal", func() error {
			_, err := proto.Marshal(req)
			return err
		}},
		{"proto-unmarshal", func() error {
			return proto.Unmarshal(wire, new(poolv1.ExtractRequest))
		}},
	}
	fmt.Printf("# parts: median page %s, %d bytes; GOMAXPROCS %d\n", pages[len(pages)/2].name, len(src), runtime.GOMAXPROCS(0))
	const iters = 50
	samples := make([][]float64, len(steps))
	for range rounds {
		for i, st := range steps {
			t0 := time.Now()
			for range iters {
				if err := st.run(); err != nil {
					return fmt.Errorf("%s: %w", st.name, err)
				}
			}
			samples[i] = append(samples[i], float64(time.Since(t0).Nanoseconds())/iters)
		}
	}
	for i, st := range steps {
		slices.Sort(samples[i])
		fmt.Printf("part step=%s ns_op=%.0f min_ns=%.0f max_ns=%.0f rounds=%d\n",
			st.name, median(samples[i]), samples[i][0], samples[i][len(samples[i])-1], rounds)
	}
	return nil
}

// sweepOnce runs n callers making back-to-back calls for dur; it returns
// the latencies of the calls that succeeded, the failures and the wall time.
func sweepOnce(ctx context.Context, c poolv1.PoolServiceClient, req *poolv1.ExtractRequest, n int, dur time.Duration) ([]time.Duration, int64, time.Duration) {
	return loadRun(ctx, c, []*poolv1.ExtractRequest{req}, n, dur)
}

// articleWay is one way to read a page as an article.
type articleWay struct {
	name string
	run  func(ctx context.Context, src string) (*article.Result, error)
}

// articles compares, in this one process, the readability library the
// article module is built on (native, in-process), the article module's
// own logic compiled natively (in-process), and the daemon's WASM article
// module over gRPC; interleaved, median over rounds; then the quality of
// each against the corpus' expectations.
func articles(ctx context.Context, c poolv1.PoolServiceClient, corpus string, rounds, roundsAll, pid int) error {
	pages, err := loadPages(corpus)
	if err != nil {
		return err
	}
	pageURL, _ := url.Parse(quality.PageURL)
	ways := []articleWay{
		{"go-readability", func(_ context.Context, src string) (*article.Result, error) {
			p := readability.NewParser()
			a, err := p.Parse(strings.NewReader(src), pageURL)
			if err != nil {
				return nil, err
			}
			var text strings.Builder
			if a.Node != nil {
				if err := a.RenderText(&text); err != nil {
					return nil, err
				}
			}
			return &article.Result{
				Title: a.Title(), Byline: a.Byline(), Description: a.Excerpt(),
				Lang: a.Language(), SiteName: a.SiteName(), Text: text.String(),
			}, nil
		}},
		{"article-native", func(_ context.Context, src string) (*article.Result, error) {
			return article.Extract(src, article.Request{URL: quality.PageURL})
		}},
		{"grpc-article", func(ctx context.Context, src string) (*article.Result, error) {
			resp, err := c.Extract(ctx, &poolv1.ExtractRequest{
				Document: &poolv1.ExtractRequest_Html{Html: src},
				Url:      quality.PageURL,
				Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Module: "article", Mode: "article"}},
			})
			if err != nil {
				return nil, err
			}
			b, err := protojson.Marshal(resp.GetResult())
			if err != nil {
				return nil, err
			}
			var res article.Result
			return &res, json.Unmarshal(b, &res)
		}},
	}
	total := 0
	for _, p := range pages {
		total += len(p.src)
	}
	med := pages[len(pages)/2]
	fmt.Printf("# articles: median page %s, %d bytes; all: %d pages, %d bytes; GOMAXPROCS %d\n",
		med.name, len(med.src), len(pages), total, runtime.GOMAXPROCS(0))

	// Quality first (it also warms every way up).
	for _, w := range ways {
		var scores []quality.PageScore
		for _, p := range pages {
			res, err := w.run(ctx, p.src)
			if err != nil {
				return fmt.Errorf("%s on %s: %w", w.name, p.name, err)
			}
			ps, err := quality.Score(p.dir, res)
			if err != nil {
				return err
			}
			scores = append(scores, ps)
		}
		s := quality.Summarize(scores)
		fmt.Printf("quality lang=go variant=%s title_match=%d pages=%d title_share=%.3f byline_share=%.3f excerpt_share=%.3f median_f1=%.4f mean_f1=%.4f\n",
			w.name, int(s.Share["title"]*float64(s.Pages)+0.5), s.Pages, s.Share["title"], s.Share["byline"], s.Share["excerpt"], s.MedianF1, s.MeanF1)
	}

	sets := []struct {
		name   string
		pages  []page
		rounds int
		iters  int
	}{
		{"median", pages[len(pages)/2 : len(pages)/2+1], rounds, 0},
		{"all", pages, roundsAll, 1},
	}
	for _, set := range sets {
		iters := make([]int, len(ways))
		for i, w := range ways {
			iters[i] = set.iters
			if iters[i] == 0 {
				// Double the calls until a run takes a quarter of a
				// second, then size a measurement to about 0.3 s.
				n := 1
				var took time.Duration
				for {
					t0 := time.Now()
					for range n {
						if _, err := w.run(ctx, set.pages[0].src); err != nil {
							return err
						}
					}
					took = time.Since(t0)
					if took >= 250*time.Millisecond || n >= 1<<14 {
						break
					}
					n *= 2
				}
				iters[i] = max(5, int(0.3*float64(n)/took.Seconds()))
			}
		}
		samples := make([][]float64, len(ways))
		cpu := make([][]float64, len(ways))  // this process, ns per call
		dcpu := make([][]float64, len(ways)) // the daemon, ns per call
		for range set.rounds {
			for i, w := range ways {
				c0, d0 := processCPU(os.Getpid()), processCPU(pid)
				t0 := time.Now()
				for range iters[i] {
					for _, p := range set.pages {
						if _, err := w.run(ctx, p.src); err != nil {
							return fmt.Errorf("%s on %s: %w", w.name, p.name, err)
						}
					}
				}
				calls := float64(iters[i] * len(set.pages))
				samples[i] = append(samples[i], float64(time.Since(t0).Nanoseconds())/calls)
				cpu[i] = append(cpu[i], float64(processCPU(os.Getpid())-c0)/calls)
				dcpu[i] = append(dcpu[i], float64(processCPU(pid)-d0)/calls)
			}
		}
		wall := make([][]float64, len(ways))
		tot := make([][]float64, len(ways))
		for i, w := range ways {
			s := samples[i]
			if len(s) == 0 {
				continue
			}
			// Per round, in round order, for paired ratios: wall and CPU
			// (this process plus, for the daemon, the daemon's) per call.
			wall[i] = slices.Clone(s)
			for r := range cpu[i] {
				t := cpu[i][r]
				if w.name == "grpc-article" {
					t += dcpu[i][r]
				}
				tot[i] = append(tot[i], t)
			}
			slices.Sort(s)
			slices.Sort(cpu[i])
			slices.Sort(dcpu[i])
			d := 0.0
			if w.name == "grpc-article" {
				d = median(dcpu[i])
			}
			fmt.Printf("row lang=go set=%s callers=1 variant=%s q=article ns_op=%.0f min_ns=%.0f max_ns=%.0f client_cpu_ns=%.0f daemon_cpu_ns=%.0f rounds=%d calls=%d w=%s c=%s\n",
				set.name, w.name, median(s), s[0], s[len(s)-1], median(cpu[i]), d, len(s), iters[i]*len(set.pages), join(wall[i]), join(tot[i]))
		}
	}
	return nil
}

// processCPU is the user+system CPU time of process pid so far, in
// nanoseconds, from /proc (0 when unknown: pid 0, or not Linux).
func processCPU(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return (ut + st) * int64(time.Second) / hz
}

// join formats xs as comma-separated integers.
func join(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, ",")
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
