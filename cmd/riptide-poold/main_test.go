package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConfigErrorsStopStartup runs the program with bad settings and checks
// that it exits non-zero at once, before listening, naming the variable.
func TestConfigErrorsStopStartup(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("wasm_pool_sise: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"not a number", nil, []string{"WASM_POOL_SIZE=abc"}, []string{`WASM_POOL_SIZE="abc"`, "not an integer"}},
		{"min over max", nil, []string{"NATIVE_POOL_SIZE=50", "NATIVE_MAX_INSTANCES=10"}, []string{"NATIVE_POOL_SIZE=50", "NATIVE_MAX_INSTANCES=10"}},
		{"out of range", nil, []string{"MEMORY_PRESSURE_THRESHOLD=1.5"}, []string{"MEMORY_PRESSURE_THRESHOLD=1.5"}},
		{"unknown log level", nil, []string{"LOG_LEVEL=loud"}, []string{"LOG_LEVEL"}},
		{"unreadable TLS file", nil, []string{"TLS_CERT_FILE=/nonexistent/cert.pem", "TLS_KEY_FILE=/nonexistent/key.pem"}, []string{"TLS_CERT_FILE"}},
		{"bad address", nil, []string{"GRPC_ADDR=unix:relative.sock"}, []string{"GRPC_ADDR"}},
		{"bad flag value", []string{"--native-pool-size", "x"}, nil, []string{"NATIVE_POOL_SIZE"}},
		{"unknown file key", []string{"--config", badYAML}, nil, []string{"wasm_pool_sise"}},
		{"several at once", nil, []string{"WASM_POOL_SIZE=abc", "CB_FAILURE_THRESHOLD=0"}, []string{"WASM_POOL_SIZE", "CB_FAILURE_THRESHOLD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			env := append(tt.env, "GRPC_ADDR=127.0.0.1:0", "METRICS_ADDR=", "HOME="+dir)
			code := run(ctx, tt.args, env, &stdout, &stderr)
			if code == 0 {
				t.Fatalf("exit status 0, want non-zero; stderr: %s", stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "listening") {
				t.Errorf("the daemon listened before refusing its configuration:\n%s", stderr.String())
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	for _, tt := range []struct {
		arg  string
		want string
	}{
		{"--version", "riptide-poold "},
		{"--help", "--wasm-pool-size"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{tt.arg}, nil, &stdout, &stderr); code != 0 {
			t.Errorf("%s: exit %d, stderr %s", tt.arg, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), tt.want) {
			t.Errorf("%s: stdout lacks %q: %s", tt.arg, tt.want, stdout.String())
		}
	}
}

// TestRunServesAndStops runs the whole program until its context ends, as a
// signal would end it, and checks the clean exit and the start-up and
// shutdown log lines.
func TestRunServesAndStops(t *testing.T) {
	var stdout bytes.Buffer
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	env := []string{"GRPC_ADDR=127.0.0.1:0", "METRICS_ADDR=127.0.0.1:0", "WASM_POOL_ENABLED=false",
		"WASM_COMPILATION_CACHE_DIR=", "LOG_FORMAT=text", "NATIVE_POOL_SIZE=1"}
	go func() { done <- run(ctx, nil, env, &stdout, &stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "msg=serving") {
		if time.Now().After(deadline) {
			t.Fatal("never logged serving")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit status %d after shutdown:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
	for _, step := range []string{"msg=starting", `msg="garbage collector"`, `msg="native pools created"`, `msg="gRPC listening"`, `msg="metrics listening"`,
		"msg=serving", "msg=draining", `msg="gRPC server stopped"`, `msg="native pools closed"`, "msg=stopped"} {
		if !strings.Contains(stderr.String(), step) {
			t.Errorf("log lacks %s:\n%s", step, stderr.String())
		}
	}
}

// syncBuffer is a bytes.Buffer that the daemon's logger may write while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
