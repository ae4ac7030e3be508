package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// A gcVariant is one daemon process started with extra environment
// settings (GOGC=400, GC_PERCENT=200,GOMEMLIMIT=64MiB, ...).
type gcVariant struct {
	name   string
	env    []string
	cmd    *exec.Cmd
	conn   *grpc.ClientConn
	client poolv1.PoolServiceClient
	trace  gcTrace
	traced chan struct{} // closed when the daemon's stderr is read to the end
}

// gcTrace accumulates the daemon's GODEBUG=gctrace=1 lines.
type gcTrace struct {
	mu      sync.Mutex
	cycles  int
	cpu     float64 // ms of CPU in collection, its idle-time workers left out
	goalMax int     // MB, the largest heap goal
}

// read parses the trace lines of r, passing other lines on to w, e.g.
//
//	gc 1 @0.241s 2%: 0.33+27+0.80 ms clock, 0.66+0.22/10/11+1.6 ms cpu, 15->16->13 MB, 16 MB goal, ...
//
// where the CPU figures are stop-the-world sweep termination, then
// assists/background/idle marking, then stop-the-world mark termination.
// Idle marking only uses CPU nothing else wanted, so it is not counted.
func (t *gcTrace) read(r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "gc ") {
			fmt.Fprintln(w, line)
			continue
		}
		var cpu float64
		var goal int
		for f := range strings.SplitSeq(line, ", ") {
			switch {
			case strings.HasSuffix(f, " ms cpu"):
				phases := strings.Split(strings.TrimSuffix(f, " ms cpu"), "+")
				if len(phases) != 3 {
					continue
				}
				mark := strings.Split(phases[1], "/") // assist, background, idle
				for _, x := range append([]string{phases[0], phases[2]}, mark[:min(2, len(mark))]...) {
					v, _ := strconv.ParseFloat(x, 64)
					cpu += v
				}
			case strings.HasSuffix(f, " MB goal"):
				goal, _ = strconv.Atoi(strings.TrimSuffix(f, " MB goal"))
			}
		}
		t.mu.Lock()
		t.cycles++
		t.cpu += cpu
		t.goalMax = max(t.goalMax, goal)
		t.mu.Unlock()
	}
}

func (t *gcTrace) snapshot() (cycles int, cpuMS float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cycles, t.cpu
}

// gcCompare starts one daemon (bin) per variant, all at once, and loads
// them in turn with back-to-back css Extract calls: every round visits each
// document set and caller count, and within it every variant, in an order
// that rotates from round to round, so that load from elsewhere on the
// machine falls on every variant alike. It reports, per variant, the
// medians over rounds of throughput, latency and the daemon's CPU time per
// call, each also as the median of the within-round ratio to the first
// variant, and the daemon's peak and final RSS (VmHWM, VmRSS).
//
// Sets: median is every a@href of the median page; mix cycles through
// every page of the corpus, each caller from its own offset, so that the
// largest pages (up to 1.8 MB) pass through the heap too.
func gcCompare(ctx context.Context, bin, corpus string, variants []string, counts []int, dur time.Duration, rounds int) error {
	if len(variants) == 0 {
		return errors.New("no -variant given")
	}
	pages, err := loadPages(corpus)
	if err != nil {
		return err
	}
	reqFor := func(p page) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: p.src},
			Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a", Attribute: "href", All: true}},
		}
	}
	medianReqs := []*poolv1.ExtractRequest{reqFor(pages[len(pages)/2])}
	var mix []*poolv1.ExtractRequest
	for _, p := range pages {
		mix = append(mix, reqFor(p))
	}
	sets := []struct {
		name string
		reqs []*poolv1.ExtractRequest
	}{{"median", medianReqs}, {"mix", mix}}

	vs := make([]*gcVariant, len(variants))
	defer func() {
		for _, v := range vs {
			if v != nil {
				v.stop()
			}
		}
	}()
	for i, s := range variants {
		v, err := startVariant(ctx, bin, s)
		if err != nil {
			return err
		}
		vs[i] = v
	}
	for _, v := range vs { // warm each daemon's connection, pools and heap
		for _, r := range mix {
			if _, err := v.client.Extract(ctx, r); err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
		}
	}

	fmt.Printf("# gc: %s; css Extract (a@href, all); sets median (%s, %d bytes) and mix (%d pages); %d rounds × %v per variant, set and caller count\n",
		bin, pages[len(pages)/2].name, len(pages[len(pages)/2].src), len(pages), rounds, dur)
	type sample struct{ rps, p50, p99, cpu, gcs, gcCPU float64 }
	type key struct {
		set     string
		callers int
		variant int
	}
	samples := make(map[key][]sample)
	var errCount atomic.Int64
	for r := range rounds {
		for _, set := range sets {
			for _, n := range counts {
				for j := range vs {
					i := (j + r) % len(vs)
					v := vs[i]
					cpu0 := processCPU(v.cmd.Process.Pid)
					gcs0, gcCPU0 := v.trace.snapshot()
					lat, fails, wall := loadRun(ctx, v.client, set.reqs, n, dur)
					cpu := processCPU(v.cmd.Process.Pid) - cpu0
					gcs, gcCPU := v.trace.snapshot()
					errCount.Add(fails)
					slices.Sort(lat)
					pct := func(p float64) float64 {
						if len(lat) == 0 {
							return 0
						}
						return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds())
					}
					s := sample{rps: float64(len(lat)) / wall.Seconds(), p50: pct(0.5), p99: pct(0.99)}
					if len(lat) > 0 {
						s.cpu = float64(cpu) / float64(len(lat))
						s.gcs = float64(gcs-gcs0) * 1000 / float64(len(lat))
						s.gcCPU = (gcCPU - gcCPU0) * 1e6 / float64(len(lat))
					}
					k := key{set.name, n, i}
					samples[k] = append(samples[k], s)
				}
			}
		}
	}

	med := func(xs []float64) float64 {
		xs = slices.Clone(xs)
		slices.Sort(xs)
		return median(xs)
	}
	for _, set := range sets {
		for _, n := range counts {
			base := samples[key{set.name, n, 0}]
			for i, v := range vs {
				ss := samples[key{set.name, n, i}]
				var rps, p50, p99, cpu, gcs, gcCPU, rpsR, cpuR []float64
				for r, s := range ss {
					rps, p50, p99, cpu = append(rps, s.rps), append(p50, s.p50), append(p99, s.p99), append(cpu, s.cpu)
					gcs, gcCPU = append(gcs, s.gcs), append(gcCPU, s.gcCPU)
					if base[r].rps > 0 && base[r].cpu > 0 {
						rpsR = append(rpsR, s.rps/base[r].rps)
						cpuR = append(cpuR, s.cpu/base[r].cpu)
					}
				}
				fmt.Printf("gc variant=%q set=%s callers=%d rps=%.1f p50_ns=%.0f p99_ns=%.0f cpu_ns_call=%.0f gc_per_1000=%.2f gc_cpu_ns_call=%.0f rps_ratio=%.3f cpu_ratio=%.3f rounds=%d\n",
					v.name, set.name, n, med(rps), med(p50), med(p99), med(cpu), med(gcs), med(gcCPU), med(rpsR), med(cpuR), len(ss))
			}
		}
	}
	for _, v := range vs {
		hwm, rss := procMemKB(v.cmd.Process.Pid)
		v.trace.mu.Lock()
		goal := v.trace.goalMax
		v.trace.mu.Unlock()
		fmt.Printf("gcmem variant=%q peak_rss_kb=%d rss_kb=%d heap_goal_max_mb=%d\n", v.name, hwm, rss, goal)
	}
	if n := errCount.Load(); n > 0 {
		return fmt.Errorf("%d calls failed", n)
	}
	return nil
}

// startVariant starts bin on a free loopback port with the settings in
// spec (comma-separated NAME=value) over this process's environment, and
// waits until it is SERVING.
func startVariant(ctx context.Context, bin, spec string) (*gcVariant, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	v := &gcVariant{name: spec, env: strings.Split(spec, ",")}
	v.cmd = exec.Command(bin)
	v.cmd.Env = append(os.Environ(), "GRPC_ADDR="+addr, "METRICS_ADDR=", "LOG_LEVEL=warn", "LOG_FORMAT=text")
	v.cmd.Env = append(v.cmd.Env, "GODEBUG=gctrace=1")
	v.cmd.Env = append(v.cmd.Env, v.env...)
	stderr, err := v.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := v.cmd.Start(); err != nil {
		return nil, err
	}
	v.traced = make(chan struct{})
	go func() {
		defer close(v.traced)
		v.trace.read(stderr, os.Stderr)
	}()
	if err := wait(ctx, addr, 120*time.Second); err != nil {
		v.stop()
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	v.conn, err = grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		v.stop()
		return nil, err
	}
	v.client = poolv1.NewPoolServiceClient(v.conn)
	return v, nil
}

// stop closes the connection and ends the daemon with SIGTERM, waiting
// for it to exit.
func (v *gcVariant) stop() {
	if v.conn != nil {
		v.conn.Close()
	}
	if v.cmd != nil && v.cmd.Process != nil {
		v.cmd.Process.Signal(os.Interrupt)
		if v.traced != nil {
			<-v.traced // Wait closes the pipe: read it to the end first
		}
		v.cmd.Wait()
	}
}

// loadRun runs n callers making back-to-back calls for dur, each cycling
// through reqs from its own offset; it returns the latencies of the calls
// that succeeded, the failures and the wall time.
func loadRun(ctx context.Context, c poolv1.PoolServiceClient, reqs []*poolv1.ExtractRequest, n int, dur time.Duration) ([]time.Duration, int64, time.Duration) {
	var (
		mu    sync.Mutex
		lat   []time.Duration
		fails atomic.Int64
		wg    sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(dur)
	for w := range n {
		wg.Go(func() {
			var mine []time.Duration
			for k := w * len(reqs) / n; time.Now().Before(deadline); k++ {
				t0 := time.Now()
				if _, err := c.Extract(ctx, reqs[k%len(reqs)]); err != nil {
					fails.Add(1)
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return lat, fails.Load(), time.Since(start)
}

// procMemKB reads the peak and current resident set size of pid from
// /proc/PID/status, in KiB (0 when unknown).
func procMemKB(pid int) (hwm, rss int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		switch name {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	return hwm, rss
}
