package wasm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// corpusPages returns the corpus pages' sources, smallest first.
func corpusPages(b *testing.B) []string {
	b.Helper()
	pages, err := quality.Pages(corpusDir(b))
	if err != nil {
		b.Fatal(err)
	}
	srcs := make([]string, len(pages))
	for i, p := range pages {
		if srcs[i], err = quality.Source(p); err != nil {
			b.Fatal(err)
		}
	}
	slices.SortFunc(srcs, func(a, b string) int { return len(a) - len(b) })
	return srcs
}

// BenchmarkArticle compares one article-mode extraction of the corpus' median
// page natively and through WASM (warm instance), trusted and untrusted. The
// WASM runs report x-native, their time over the native run's in this
// process.
//
//	go test -run '^$' -bench 'BenchmarkArticle$' -count 5 ./internal/wasm
func BenchmarkArticle(b *testing.B) {
	pages := corpusPages(b)
	page := pages[len(pages)/2]
	req := article.Request{URL: quality.PageURL, Mode: article.ModeArticle}
	var native float64 // ns per extraction
	b.Run("native", func(b *testing.B) {
		for b.Loop() {
			if _, err := article.Extract(page, req); err != nil {
				b.Fatal(err)
			}
		}
		native = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.SetBytes(int64(len(page)))
	})
	for _, trusted := range []bool{true, false} {
		b.Run(map[bool]string{true: "wasm-trusted", false: "wasm-untrusted"}[trusted], func(b *testing.B) {
			rt := newRuntime(b, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
			i := newInstance(b, loadArticle(b, rt, trusted))
			wreq := wasm.Request{HTML: page, URL: req.URL, Mode: req.Mode}
			if _, err := i.Extract(context.Background(), wreq); err != nil { // warm up
				b.Fatal(err)
			}
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				if _, err := i.Extract(context.Background(), wreq); err != nil {
					b.Fatal(err)
				}
			}
			if native > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/native, "x-native")
			}
		})
	}
}

// BenchmarkArticleRatio is BenchmarkArticle made robust to a busy machine:
// every iteration extracts the page natively, then through three instances
// of the module, and the metrics are the medians of the per-iteration
// ratios: "uninterrupted" runs it as trusted modules ran before package
// interrupt (no interruption checks at all: a call cannot be stopped),
// "instrumented" as every module runs now (its own checks, package
// interrupt), "wazero-checks" as untrusted modules ran before (wazero's
// WithCloseOnContextDone, and as a module the pass cannot read still runs). The "corpus" variants do every corpus page per iteration and
// compare the sums: "corpus" with one instance of each kind throughout,
// "corpus-recycled" replacing an instance as the daemon does by default
// (past WASM_RECYCLE_MEMORY_MB, 12 MiB, and half again its size when
// made; see wasmpool.Config.RecycleBytes), outside the timing since the
// daemon makes replacements in the background. An instance that kept a
// large page's heap is slower on the pages after it.
//
//	go test -run '^$' -bench 'BenchmarkArticleRatio' -benchtime 100x ./internal/wasm
func BenchmarkArticleRatio(b *testing.B) {
	pages := corpusPages(b)
	rt := newRuntime(b, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
	mods := [3]*wasm.Module{
		loadArticleWith(b, rt, wasm.Uninterrupted(wasm.ModuleOptions{})),
		loadArticle(b, rt, false),
		loadArticleWith(b, rt, wasm.WazeroChecked(wasm.ModuleOptions{})),
	}
	run := func(b *testing.B, pages []string, recycle bool) {
		var insts [3]*wasm.Instance
		var made [3]uint64 // linear memory when made
		for k, m := range mods {
			insts[k] = newInstance(b, m)
			made[k] = insts[k].LinearMemoryBytes()
		}
		recycleBytes := uint64(config.Default().WASMRecycleMemoryMB) << 20
		var nativeMs, uninterruptedX, instrumentedX, checkedX, checksX, checksCPUX []float64
		// The guest runs on the calling goroutine: locked to its thread,
		// the thread's CPU time is the guest's, without the time other
		// processes took the core from it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for b.Loop() {
			var t [4]time.Duration
			var cpu [2]time.Duration // uninterrupted, instrumented
			for _, page := range pages {
				req := wasm.Request{HTML: page, URL: quality.PageURL, Mode: article.ModeArticle}
				start := time.Now()
				if _, err := article.Extract(page, article.Request{URL: req.URL, Mode: req.Mode}); err != nil {
					b.Fatal(err)
				}
				t[0] += time.Since(start)
				for k, i := range insts {
					start, startCPU := time.Now(), threadCPUTime()
					if _, err := i.Extract(context.Background(), req); err != nil {
						b.Fatal(err)
					}
					t[k+1] += time.Since(start)
					if k < len(cpu) {
						cpu[k] += threadCPUTime() - startCPU
					}
					if mem := i.LinearMemoryBytes(); recycle && mem > recycleBytes && mem > made[k]+made[k]/2 {
						b.StopTimer()
						i.Close()
						insts[k] = newInstance(b, mods[k])
						made[k] = insts[k].LinearMemoryBytes()
						b.StartTimer()
					}
				}
			}
			nativeMs = append(nativeMs, float64(t[0])/1e6)
			uninterruptedX = append(uninterruptedX, float64(t[1])/float64(t[0]))
			instrumentedX = append(instrumentedX, float64(t[2])/float64(t[0]))
			checkedX = append(checkedX, float64(t[3])/float64(t[0]))
			checksX = append(checksX, float64(t[2])/float64(t[1]))
			if cpu[0] > 0 {
				checksCPUX = append(checksCPUX, float64(cpu[1])/float64(cpu[0]))
			}
		}
		b.ReportMetric(median(nativeMs), "native-ms")
		b.ReportMetric(median(uninterruptedX), "x-native-uninterrupted")
		b.ReportMetric(median(instrumentedX), "x-native-instrumented")
		b.ReportMetric(median(checkedX), "x-native-wazero-checks")
		// The cost of the instrumentation's checks alone, each iteration's
		// instrumented time over its uninterrupted time: steadier than
		// either ratio to native on a busy machine.
		b.ReportMetric(median(checksX), "x-uninterrupted-instrumented")
		// The same in the CPU time of the calling thread (Linux only).
		if len(checksCPUX) > 0 {
			b.ReportMetric(median(checksCPUX), "x-uninterrupted-instrumented-cpu")
		}
	}
	b.Run("median-page", func(b *testing.B) { run(b, pages[len(pages)/2:len(pages)/2+1], true) })
	b.Run("corpus", func(b *testing.B) { run(b, pages, false) })
	b.Run("corpus-recycled", func(b *testing.B) { run(b, pages, true) })
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// BenchmarkArticleGOGC runs the trusted extraction of the median page with
// the guest collector tuned differently (GOMEMLIMIT stays at 3/4 of the cap),
// interleaved with the native run as in BenchmarkArticleRatio; the metrics
// are median milliseconds per extraction.
//
//	go test -run '^$' -bench 'BenchmarkArticleGOGC' -benchtime 60x ./internal/wasm
func BenchmarkArticleGOGC(b *testing.B) {
	pages := corpusPages(b)
	page := pages[len(pages)/2]
	req := wasm.Request{HTML: page, URL: quality.PageURL, Mode: article.ModeArticle}
	gogcs := []int{100, 200, 400, -1}
	var insts []*wasm.Instance
	for _, gogc := range gogcs {
		rt := newRuntime(b, wasm.RuntimeConfig{ExtractTimeout: time.Minute, GOGC: gogc})
		insts = append(insts, newInstance(b, loadArticle(b, rt, true)))
	}
	ms := make([][]float64, len(insts)+1)
	for b.Loop() {
		start := time.Now()
		if _, err := article.Extract(page, article.Request{URL: req.URL, Mode: req.Mode}); err != nil {
			b.Fatal(err)
		}
		ms[0] = append(ms[0], float64(time.Since(start))/1e6)
		for k, i := range insts {
			start := time.Now()
			if _, err := i.Extract(context.Background(), req); err != nil {
				b.Fatal(err)
			}
			ms[k+1] = append(ms[k+1], float64(time.Since(start))/1e6)
		}
	}
	b.ReportMetric(median(ms[0]), "native-ms")
	for k, gogc := range gogcs {
		b.ReportMetric(median(ms[k+1]), fmt.Sprintf("GOGC=%d-ms", gogc))
		b.ReportMetric(float64(insts[k].LinearMemoryBytes())/(1<<20), fmt.Sprintf("GOGC=%d-linear-MiB", gogc))
	}
}

// BenchmarkNewInstance makes an article instance from the compiled module:
// what a pool pays to grow or to replace a broken instance. "reused"
// closes each instance before making the next, whose linear memory reuses
// the mapping of the last; "fresh" keeps them open, so each one maps and
// faults in its memory anew, as the first instances after a start do (keep
// -benchtime small: each holds its memory until the end).
//
//	go test -run '^$' -bench 'BenchmarkNewInstance' -benchtime 100x ./internal/wasm
func BenchmarkNewInstance(b *testing.B) {
	rt := newRuntime(b, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
	m := loadArticle(b, rt, true)
	for _, keep := range []bool{false, true} {
		b.Run(map[bool]string{false: "reused", true: "fresh"}[keep], func(b *testing.B) {
			var linear uint64
			var open []*wasm.Instance
			cpu := cpuTime()
			for b.Loop() {
				i, err := m.NewInstance(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				linear = i.LinearMemoryBytes()
				if keep {
					open = append(open, i)
				} else {
					i.Close()
				}
			}
			b.ReportMetric(float64(linear)/(1<<20), "linear-MiB")
			reportCPU(b, cpu)
			for _, i := range open {
				i.Close()
			}
		})
	}
}

// BenchmarkLoad compiles and checks the article module with an empty
// compilation cache directory (cold) and a filled one (warm), each time in a
// new Runtime, as a daemon start does.
//
//	go test -run '^$' -bench 'BenchmarkLoad' -benchtime 3x ./internal/wasm
func BenchmarkLoad(b *testing.B) {
	bin := readArticle(b)
	load := func(b *testing.B, dir string) {
		rt, err := wasm.NewRuntime(context.Background(), wasm.RuntimeConfig{CompilationCacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close(context.Background())
		if _, err := rt.Load(context.Background(), "article", bin, wasm.ModuleOptions{Trusted: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		cpu := cpuTime()
		for b.Loop() {
			load(b, b.TempDir())
		}
		reportCPU(b, cpu)
	})
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		load(b, dir)
		cpu := cpuTime()
		for b.Loop() {
			load(b, dir)
		}
		reportCPU(b, cpu)
	})
}

// reportCPU reports the process' CPU time since since per iteration, as
// cpu-ms/op: the work done, which a busy machine does not stretch as it
// does wall time (but which counts every goroutine of the process).
func reportCPU(b *testing.B, since time.Duration) {
	if now := cpuTime(); now > 0 {
		b.ReportMetric(float64(now-since)/1e6/float64(b.N), "cpu-ms/op")
	}
}

// BenchmarkInstanceMemory measures what an article instance holds after 100
// extractions of the median page, or of the corpus' pages in turn, for
// several guest GOGC, and with the daemon's recycling (an instance past
// WASM_RECYCLE_MEMORY_MB, 12 MiB by default, and half again its initial
// size is replaced after the call, as internal/wasmpool does): its linear
// memory (its
// length: untouched pages of it take no physical memory), the growth of the
// host's Go heap (wazero's module instance, the guest's stack), and the
// growth of the process' resident memory (Linux), which covers both.
//
//	go test -run '^$' -bench 'BenchmarkInstanceMemory' -benchtime 1x ./internal/wasm
func BenchmarkInstanceMemory(b *testing.B) {
	all := corpusPages(b)
	const recycleAt = 12 << 20
	for _, bench := range []struct {
		pages   []string
		gogc    int
		recycle bool
	}{
		{all[len(all)/2 : len(all)/2+1], 100, false},
		{all, 100, false},
		{all, 100, true},
		{all, 200, false},
		{all, 400, false},
	} {
		name := "median-page"
		if len(bench.pages) > 1 {
			name = "corpus"
		}
		pages, gogc := bench.pages, bench.gogc
		if bench.recycle {
			name += "-recycled"
		}
		b.Run(fmt.Sprintf("%s/GOGC=%d", name, gogc), func(b *testing.B) {
			rt := newRuntime(b, wasm.RuntimeConfig{ExtractTimeout: time.Minute, GOGC: gogc})
			m := loadArticle(b, rt, true)
			const instances = 4
			var linear, host, rss float64
			recycles := 0
			for b.Loop() {
				heapBefore, rssBefore := heapBytes(), residentBytes()
				var live []*wasm.Instance
				recycles = 0
				for range instances {
					i, err := m.NewInstance(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					initial := i.LinearMemoryBytes()
					for n := range 100 {
						if _, err := i.Extract(context.Background(), wasm.Request{HTML: pages[n%len(pages)], URL: quality.PageURL}); err != nil {
							b.Fatal(err)
						}
						if size := i.LinearMemoryBytes(); bench.recycle && size > recycleAt && size > initial+initial/2 {
							i.Close()
							if i, err = m.NewInstance(context.Background()); err != nil {
								b.Fatal(err)
							}
							recycles++
						}
					}
					live = append(live, i)
				}
				host = float64(heapBytes()) - float64(heapBefore)
				rss = float64(residentBytes()) - float64(rssBefore)
				linear = 0
				for _, i := range live {
					linear += float64(i.LinearMemoryBytes())
					i.Close()
				}
			}
			b.ReportMetric(linear/instances/(1<<20), "linear-MiB/inst")
			if bench.recycle {
				b.ReportMetric(float64(recycles)/instances, "recycles/100-pages")
			}
			b.ReportMetric(host/instances/(1<<20), "heap-MiB/inst")
			if rss > 0 {
				b.ReportMetric(rss/instances/(1<<20), "rss-MiB/inst")
			}
		})
	}
}

// heapBytes is the host's Go heap and stacks in use, after a collection.
func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// residentBytes is the process' resident memory on Linux, 0 elsewhere.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident uint64
	if _, err := fmt.Sscan(string(b), &size, &resident); err != nil {
		return 0
	}
	return resident * uint64(os.Getpagesize())
}

// BenchmarkGuestMemoryLimit runs 100 extractions cycling through the corpus
// on one instance per variant, a variant being a guest GOMEMLIMIT and a
// recycling threshold: past it, after a call, the instance is closed and
// replaced, as the pool does (internal/wasmpool). The variants take turns
// on each page, so that a busy machine slows them alike. Per variant it
// reports the median milliseconds per extraction (the replacement's time
// included), the recycles, and the largest linear memory left after a call
// (what an idle pooled instance holds). The calls run on the benchmark's
// own thread (no timeout), so that cpu-ms, the thread's CPU time per
// extraction, is a measure a busy machine does not stretch.
//
//	go test -run '^$' -bench 'BenchmarkGuestMemoryLimit' -benchtime 1x ./internal/wasm
func BenchmarkGuestMemoryLimit(b *testing.B) {
	pages := corpusPages(b)
	type variant struct {
		name            string
		limitMB         int // guest GOMEMLIMIT; 0: the default, 3/4 of the cap
		recycleMB       int // 0: never
		m               *wasm.Module
		i               *wasm.Instance
		ms, cpu         []float64
		recycles        int
		maxLinear, peak uint64
	}
	var vs []*variant
	for _, limit := range []int{0, 12, 10, 8} {
		for _, recycle := range []int{0, 12} {
			vs = append(vs, &variant{name: fmt.Sprintf("limit=%dMiB/recycle=%dMiB", limit, recycle), limitMB: limit, recycleMB: recycle})
		}
	}
	newInst := func(v *variant) {
		i, err := v.m.NewInstance(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		v.i = i
	}
	for _, v := range vs {
		rt := newRuntime(b, wasm.RuntimeConfig{GuestMemoryLimitMB: v.limitMB})
		v.m = loadArticle(b, rt, true)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for b.Loop() {
		for _, v := range vs {
			newInst(v)
			v.ms, v.cpu, v.recycles, v.maxLinear, v.peak = nil, nil, 0, 0, 0
		}
		for n := range 100 {
			req := wasm.Request{HTML: pages[n%len(pages)], URL: quality.PageURL}
			for _, v := range vs {
				start, cpu := time.Now(), threadCPUTime()
				if _, err := v.i.Extract(context.Background(), req); err != nil {
					b.Fatal(err)
				}
				size := v.i.LinearMemoryBytes()
				v.peak = max(v.peak, size)
				if v.recycleMB > 0 && size > uint64(v.recycleMB)<<20 {
					v.i.Close()
					newInst(v)
					v.recycles++
					size = v.i.LinearMemoryBytes()
				}
				v.ms = append(v.ms, float64(time.Since(start))/1e6)
				v.cpu = append(v.cpu, float64(threadCPUTime()-cpu)/1e6)
				v.maxLinear = max(v.maxLinear, size)
			}
		}
		for _, v := range vs {
			v.i.Close()
		}
	}
	for _, v := range vs {
		b.ReportMetric(median(v.ms), v.name+"/ms")
		b.ReportMetric(mean(v.ms), v.name+"/mean-ms")
		b.ReportMetric(mean(v.cpu), v.name+"/cpu-ms")
		b.ReportMetric(float64(v.recycles), v.name+"/recycles")
		b.ReportMetric(float64(v.maxLinear)/(1<<20), v.name+"/idle-linear-MiB")
		b.ReportMetric(float64(v.peak)/(1<<20), v.name+"/peak-linear-MiB")
	}
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(max(len(xs), 1))
}

// BenchmarkArticleBaseline compares the bundled article module with
// another build of it, such as the one on main before a change to
// internal/article: both run, trusted, on the corpus' median page and on
// every page in turn, interleaved in one loop, and the metric x-baseline is
// the median per-iteration ratio of the bundled module's time to the
// baseline's. The baseline is the file named by RIPTIDE_BASELINE_GUEST; the
// benchmark skips without one.
//
//	git show main:... or build main's guest, then
//	RIPTIDE_BASELINE_GUEST=/tmp/article-main.wasm go test -run '^$' -bench 'BenchmarkArticleBaseline' -benchtime 40x ./internal/wasm
func BenchmarkArticleBaseline(b *testing.B) {
	path := os.Getenv("RIPTIDE_BASELINE_GUEST")
	if path == "" {
		b.Skip("set RIPTIDE_BASELINE_GUEST to the article.wasm to compare with")
	}
	baseline, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	pages := corpusPages(b)
	rt := newRuntime(b, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
	old, err := rt.Load(context.Background(), "article-baseline", baseline, wasm.ModuleOptions{Trusted: true})
	if err != nil {
		b.Fatal(err)
	}
	mods := [2]*wasm.Module{loadArticle(b, rt, true), old}
	run := func(b *testing.B, pages []string) {
		insts := [2]*wasm.Instance{newInstance(b, mods[0]), newInstance(b, mods[1])}
		var newMs, oldMs, ratio []float64
		for b.Loop() {
			var t [2]time.Duration
			for _, page := range pages {
				req := wasm.Request{HTML: page, URL: quality.PageURL, Mode: article.ModeArticle}
				for k, i := range insts {
					start := time.Now()
					if _, err := i.Extract(context.Background(), req); err != nil {
						b.Fatal(err)
					}
					t[k] += time.Since(start)
				}
			}
			newMs = append(newMs, float64(t[0])/1e6)
			oldMs = append(oldMs, float64(t[1])/1e6)
			ratio = append(ratio, float64(t[0])/float64(t[1]))
		}
		b.ReportMetric(median(newMs), "new-ms")
		b.ReportMetric(median(oldMs), "baseline-ms")
		b.ReportMetric(median(ratio), "x-baseline")
	}
	b.Run("median-page", func(b *testing.B) { run(b, pages[len(pages)/2:len(pages)/2+1]) })
	b.Run("corpus", func(b *testing.B) { run(b, pages) })
}

// BenchmarkResultConversion converts the article result of the corpus'
// median page, as the guest returns it, to the Struct the client gets: the
// host's bounded decoder against what the server did before it (check the
// envelope with json.Valid, copy the object, then protojson.Unmarshal).
//
//	go test -run '^$' -bench BenchmarkResultConversion -count 6 ./internal/wasm
func BenchmarkResultConversion(b *testing.B) {
	pages := corpusPages(b)
	res, err := article.Extract(pages[len(pages)/2], article.Request{URL: quality.PageURL, Mode: article.ModeArticle})
	if err != nil {
		b.Fatal(err)
	}
	obj, err := json.Marshal(res)
	if err != nil {
		b.Fatal(err)
	}
	env := append(append([]byte(`{"ok":`), obj...), '}')
	b.Run("protojson", func(b *testing.B) {
		b.SetBytes(int64(len(env)))
		for b.Loop() {
			if !json.Valid(env) {
				b.Fatal("invalid")
			}
			st := new(structpb.Struct)
			if err := protojson.Unmarshal(bytes.Clone(env[len(`{"ok":`):len(env)-1]), st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bounded", func(b *testing.B) {
		b.SetBytes(int64(len(env)))
		for b.Loop() {
			if st, _, _, err, reason := wasm.DecodeEnvelope(env, 16<<20); st == nil {
				b.Fatal(err, reason)
			}
		}
	})
}
