// Package fleet tests the client libraries against a fleet: three daemons
// on loopback, one target naming all three, one daemon killed mid-run.
package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/client"
)

// Calls per library and how many run at once.
const (
	calls       = 900
	concurrency = 8
)

var repoRoot = filepath.Join("..", "..")

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// daemonBinary is $RIPTIDE_POOLD_BIN, or one built once per run.
func daemonBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("RIPTIDE_POOLD_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "riptide-poold-fleet-test")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "riptide-poold")
		cmd := exec.Command("go", "build", "-o", buildBin, "./cmd/riptide-poold")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/riptide-poold (run `make wasm` first if the bundled module is missing): %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// replica is a daemon process on loopback ports.
type replica struct {
	cmd                   *exec.Cmd
	grpcAddr, metricsAddr string
	exited                chan struct{}
}

func startReplica(t *testing.T) *replica {
	t.Helper()
	cmd := exec.Command(daemonBinary(t))
	cmd.Env = []string{
		"GRPC_ADDR=127.0.0.1:0", "METRICS_ADDR=127.0.0.1:0",
		"NATIVE_POOL_SIZE=2", "NATIVE_MAX_INSTANCES=8", "WASM_POOL_ENABLED=false",
		"LOG_FORMAT=json", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, exited: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		var once sync.Once
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line.Msg {
			case "gRPC listening":
				r.grpcAddr = line.Addr
			case "metrics listening":
				r.metricsAddr = line.Addr
			case "serving":
				once.Do(func() { close(ready) })
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.exited
	})
	select {
	case <-ready:
		return r
	case <-r.exited:
		t.Fatal("riptide-poold exited at start-up")
	case <-time.After(60 * time.Second):
		t.Fatal("riptide-poold was not serving within 60s")
	}
	return nil
}

var handledLine = regexp.MustCompile(`(?m)^grpc_server_handled_total\{[^}]*grpc_method="Extract"[^}]*\} (\S+)$`)

// served answers how many Extract calls r's gRPC server handled.
func (r *replica) served(t *testing.T) int {
	t.Helper()
	resp, err := http.Get("http://" + r.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range handledLine.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		n += int(v)
	}
	return n
}

// outcome is what a load reports.
type outcome struct {
	OK     int      `json:"ok"`
	Failed int      `json:"failed"`
	Errors []string `json:"errors"`
}

// A load runs `calls` css calls through target and reports.
type load func(ctx context.Context, t *testing.T, target string) (outcome, error)

func goLoad(ctx context.Context, t *testing.T, target string) (outcome, error) {
	c, err := client.New(ctx, target, client.WithTimeout(time.Minute))
	if err != nil {
		return outcome{}, err
	}
	defer c.Close()
	var (
		mu   sync.Mutex
		out  outcome
		wg   sync.WaitGroup
		next = make(chan struct{})
	)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				v, err := c.CSS(ctx, client.HTML("<h1>fleet</h1>", ""), client.CSS{Selector: "h1"})
				mu.Lock()
				if err == nil && len(v.Values) == 1 && v.Values[0] == "fleet" {
					out.OK++
				} else {
					out.Failed++
					if len(out.Errors) < 5 {
						out.Errors = append(out.Errors, fmt.Sprint(err))
					}
				}
				mu.Unlock()
			}
		}()
	}
	for range calls {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	return out, nil
}

// processLoad runs a load program of another language that prints an
// outcome as its last line.
func processLoad(name string, args ...string) load {
	return func(ctx context.Context, t *testing.T, target string) (outcome, error) {
		cmd := exec.CommandContext(ctx, name, append(args, target, strconv.Itoa(calls), strconv.Itoa(concurrency))...)
		cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join("..", "python", "src"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return outcome{}, fmt.Errorf("%s: %v\n%s", name, err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		var o outcome
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &o); err != nil {
			return outcome{}, fmt.Errorf("%s printed %q: %v", name, out, err)
		}
		return o, nil
	}
}

// require reports whether the test must run where a language's tools are
// missing: in CI (RIPTIDE_FLEET_ALL=1, set by .ci/run) it must.
func require(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("RIPTIDE_FLEET_ALL") == "1" {
		t.Fatalf("%s is missing, and RIPTIDE_FLEET_ALL=1 requires every library's fleet test", what)
	}
	t.Skipf("%s is missing (make clients-test installs and builds what it needs)", what)
}

// TestFleet runs each library's load through one target naming three
// daemons, kills one with SIGKILL once a third of the calls are served,
// and checks that no call failed and that every daemon served a fair share:
// the killed one its third until it died, the other two half each of the
// rest.
func TestFleet(t *testing.T) {
	_, pyErr := exec.LookPath("python3")
	py := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf")
	py.Env = os.Environ()
	_, nodeErr := exec.LookPath("node")
	_, distErr := os.Stat(filepath.Join("..", "node", "dist", "esm", "index.mjs"))
	loads := []struct {
		name  string
		load  load
		ready func(t *testing.T)
	}{
		{"go", goLoad, func(*testing.T) {}},
		{"python", processLoad("/usr/bin/python3", "load.py"), func(t *testing.T) {
			require(t, "Debian's python3 with python3-grpcio and python3-protobuf", pyErr == nil && py.Run() == nil)
		}},
		{"node", processLoad("node", "load.mjs"), func(t *testing.T) {
			require(t, "node and a built clients/node (npm ci)", nodeErr == nil && distErr == nil)
		}},
	}
	for _, l := range loads {
		t.Run(l.name, func(t *testing.T) {
			l.ready(t)
			rs := []*replica{startReplica(t), startReplica(t), startReplica(t)}
			target := "ipv4:" + rs[0].grpcAddr + "," + rs[1].grpcAddr + "," + rs[2].grpcAddr
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()

			type result struct {
				o   outcome
				err error
			}
			done := make(chan result, 1)
			go func() {
				o, err := l.load(ctx, t, target)
				done <- result{o, err}
			}()

			// Kill the third daemon once the fleet has served a third of
			// the calls, reading its count just before.
			victim := rs[2]
			var victimServed, fleetAtKill int
			for {
				total := rs[0].served(t) + rs[1].served(t) + victim.served(t)
				if total >= calls/3 {
					victimServed = victim.served(t)
					fleetAtKill = total
					victim.cmd.Process.Kill()
					<-victim.exited
					break
				}
				select {
				case r := <-done:
					t.Fatalf("the load ended before a third of the calls were served: %+v %v", r.o, r.err)
				case <-time.After(5 * time.Millisecond):
				}
			}
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.o.Failed != 0 || r.o.OK != calls {
				t.Fatalf("%d calls succeeded, %d failed (want %d and 0); errors: %q", r.o.OK, r.o.Failed, calls, r.o.Errors)
			}
			a, b := rs[0].served(t), rs[1].served(t)
			t.Logf("served: %d and %d by the survivors, %d of %d by the killed one before it died", a, b, victimServed, fleetAtKill)
			// Round-robin gives exact thirds and halves; the bounds leave room
			// for calls in flight and retries.
			if victimServed*5 < fleetAtKill { // < 20% where a third is fair
				t.Errorf("the killed daemon served %d of the first %d calls, under a fair share", victimServed, fleetAtKill)
			}
			for _, n := range []int{a, b} {
				if n*100 < (a+b)*35 { // < 35% where half is fair
					t.Errorf("a surviving daemon served %d of the survivors' %d calls, under a fair share", n, a+b)
				}
			}
		})
	}
}
