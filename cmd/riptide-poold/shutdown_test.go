package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// runMainEnv makes the test binary run the daemon's main instead of the
// tests, so that a test can run the real program as a process of its own
// and signal it, without building it first.
const runMainEnv = "RIPTIDE_POOLD_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// exitBound is how long a test waits for the process to exit after
// SIGTERM: far beyond SHUTDOWN_GRACE_MS plus daemon.StopBound, so reaching
// it means the process did not exit by itself, as it once never did.
const exitBound = 60 * time.Second

// startBound is how long a test waits for the daemon to start: far beyond
// what starting the native pools takes, even under the race detector on a
// busy machine.
const startBound = 2 * time.Minute

// TestShutdownEndsWithCallRunning runs the daemon as a process, leaves a
// call running past the grace period (an Extract waiting for the one css
// instance, which a lease holds, with a 10-minute CHECKOUT_TIMEOUT_MS), and
// sends SIGTERM: the process exits by itself with status 0, the call's
// client gets an answer, and the log says the grace period ran out.
// internal/daemon's TestShutdownAbandonsStuckHandler covers a handler that
// never returns, and the README why a trusted WebAssembly call that never
// returns is beyond any bound.
func TestShutdownEndsWithCallRunning(t *testing.T) {
	d := startDaemon(t,
		"NATIVE_POOL_SIZE=1",
		"NATIVE_MAX_INSTANCES=1",
		"CHECKOUT_TIMEOUT_MS=600000",
		"WASM_POOL_ENABLED=false",
	)
	client := d.client

	if _, err := client.Checkout(context.Background(), &poolv1.CheckoutRequest{Pool: "css"}); err != nil {
		t.Fatal(err)
	}
	stuck := make(chan error, 1)
	go func() {
		_, err := client.Extract(context.Background(), &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: "<p>x</p>"},
			Spec:     &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "p"}},
		})
		stuck <- err
	}()
	waitWaiting(t, client, "css")

	d.terminate(t, "a call running past SHUTDOWN_GRACE_MS=500")
	lines := d.log.all()
	if !slices.ContainsFunc(lines, func(l map[string]any) bool {
		return l["msg"] == "grace period over; cancelling calls and streams still open"
	}) {
		t.Error("the log does not say that the grace period ran out with the call running")
	}
	last := lines[len(lines)-1]
	select {
	case err := <-stuck:
		if c := status.Code(err); c != codes.Unavailable && c != codes.Canceled {
			t.Errorf("the stuck call ended with %v, want UNAVAILABLE or CANCELLED", err)
		}
	case <-time.After(exitBound):
		t.Error("the stuck call's client got no answer")
	}
	if msg := last["msg"]; msg != "stopped" && msg != "stopped; abandoned what still runs" {
		t.Errorf("last log line %v, want shutdown's last", last)
	}
}

// daemonProcess is the daemon run as a process of its own (the test binary
// with runMainEnv set), on loopback, with a client connected once it serves.
type daemonProcess struct {
	cmd     *exec.Cmd
	log     *logLines
	client  poolv1.PoolServiceClient
	exited  chan struct{} // closed once the process has exited
	exitErr error         // cmd.Wait's, once exited is closed
}

// startDaemon starts the daemon with the environment of the test, a
// loopback gRPC address, JSON logs, SHUTDOWN_GRACE_MS=500 and env, waits
// until it serves, and connects a client. The process is killed at the end
// of the test if it is still running.
func startDaemon(t *testing.T, env ...string) *daemonProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(),
		runMainEnv+"=1",
		"GRPC_ADDR=127.0.0.1:0",
		"METRICS_ADDR=",
		"LOG_FORMAT=json",
		"SHUTDOWN_GRACE_MS=500",
		"HOME="+t.TempDir(),
	), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProcess{cmd: cmd, log: &logLines{done: make(chan struct{})}, exited: make(chan struct{})}
	go d.log.read(stderr)
	// Wait closes the pipe, so it must come after the log is read.
	go func() {
		defer close(d.exited)
		<-d.log.done
		d.exitErr = cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			cmd.Process.Kill()
			<-d.exited
		}
	})

	// The address is in the log; the daemon serves once it says so.
	addr, _ := d.log.wait(t, "gRPC listening")["addr"].(string)
	d.log.wait(t, "serving")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d.client = poolv1.NewPoolServiceClient(conn)
	return d
}

// terminate sends SIGTERM and fails the test unless the process exits by
// itself, with status 0, within exitBound; while says what was running.
func (d *daemonProcess) terminate(t *testing.T, while string) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.exited:
		if d.exitErr != nil {
			t.Errorf("exit: %v, want status 0", d.exitErr)
		}
	case <-time.After(exitBound):
		t.Fatalf("the process was still running %v after SIGTERM with %s", exitBound, while)
	}
}

// logLines collects the daemon's JSON log lines.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
	done  chan struct{} // closed when the log ends
}

func (l *logLines) read(r io.Reader) {
	defer close(l.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil {
			l.mu.Lock()
			l.lines = append(l.lines, line)
			l.mu.Unlock()
		}
	}
}

func (l *logLines) all() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// wait returns the first line whose msg is msg, failing the test if the
// log ends or it does not come within startBound.
func (l *logLines) wait(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(startBound)
	for time.Now().Before(deadline) {
		if i := slices.IndexFunc(l.all(), func(line map[string]any) bool { return line["msg"] == msg }); i >= 0 {
			return l.all()[i]
		}
		select {
		case <-l.done:
			t.Fatalf("the daemon exited without logging %q", msg)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("the daemon did not log %q within %v", msg, startBound)
	return nil
}

// waitWaiting waits until a call waits for an instance of pool.
func waitWaiting(t *testing.T, client poolv1.PoolServiceClient, pool string) {
	t.Helper()
	deadline := time.Now().Add(exitBound)
	for time.Now().Before(deadline) {
		resp, err := client.Health(context.Background(), &poolv1.HealthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.GetPools() {
			if p.GetPool() == pool && p.GetWaiters() > 0 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no call waiting for a %s instance within %v", pool, exitBound)
}
