package deploy_test

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the module root, relative to this package.
const repoRoot = ".."

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// daemonBinary answers the riptide-poold binary under test: the one
// $RIPTIDE_POOLD_BIN names (scripts/e2e.sh passes the binary it built), or
// one built once per test run the way the Dockerfile builds it
// (CGO_ENABLED=0, -trimpath).
func daemonBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("RIPTIDE_POOLD_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "riptide-poold-deploy-test")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "riptide-poold")
		cmd := exec.Command("go", "build", "-trimpath", "-o", buildBin, "./cmd/riptide-poold")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("go build ./cmd/riptide-poold (run `make wasm` first if the bundled module is missing): " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// daemon is a riptide-poold process on loopback ports.
type daemon struct {
	grpcAddr, metricsAddr string
}

// startDaemon runs the binary with small pools on kernel-chosen loopback
// ports, learns the ports from its start-up log, and stops it (SIGTERM,
// then a clean exit) when the test ends.
func startDaemon(t *testing.T, env ...string) *daemon {
	t.Helper()
	cmd := exec.Command(daemonBinary(t))
	cmd.Env = append([]string{
		"GRPC_ADDR=127.0.0.1:0",
		"METRICS_ADDR=127.0.0.1:0",
		"NATIVE_POOL_SIZE=2",
		"NATIVE_MAX_INSTANCES=8",
		"WASM_POOL_SIZE=1",
		"WASM_MAX_INSTANCES=2",
		"WASM_COMPILATION_CACHE_DIR=",
		"SHUTDOWN_GRACE_MS=5000",
		"LOG_FORMAT=json",
		"HOME=" + t.TempDir(),
		"PATH=" + os.Getenv("PATH"),
	}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	addrs := make(chan *daemon, 1)
	var logTail strings.Builder
	var logMu sync.Mutex
	go func() {
		d := &daemon{}
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			logMu.Lock()
			logTail.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line.Msg {
			case "gRPC listening":
				d.grpcAddr = line.Addr
			case "metrics listening":
				d.metricsAddr = line.Addr
			case "serving":
				addrs <- d
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("riptide-poold exited with %v", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Error("riptide-poold did not stop within 30s of SIGINT")
		}
	})
	select {
	case d := <-addrs:
		if d.grpcAddr == "" || d.metricsAddr == "" {
			t.Fatalf("start-up log named no addresses (grpc %q, metrics %q)", d.grpcAddr, d.metricsAddr)
		}
		return d
	case err := <-exited:
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("riptide-poold exited at start-up: %v\n%s", err, logTail.String())
	case <-time.After(60 * time.Second):
		t.Fatal("riptide-poold was not serving within 60s")
	}
	return nil
}

// TestBinaryIsStatic checks that the binary the image ships runs on a
// scratch base: no program interpreter and no shared libraries.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(daemonBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a program interpreter: build it with CGO_ENABLED=0, as the Dockerfile does")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
}

// contextFor is a context that ends with the test or after d.
func contextFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
