package deploy_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/config"
)

// envFile is the ConfigMap's source in the kustomize base.
var envFile = filepath.Join("kubernetes", "base", "riptide-poold.env")

// readEnvFile parses a kustomize env file: KEY=VALUE lines, # comments.
func readEnvFile(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "=") {
			t.Errorf("%s:%d: not KEY=VALUE: %q", path, n, line)
			continue
		}
		env = append(env, line)
	}
	return env
}

func documented() map[string]bool {
	vars := map[string]bool{}
	for _, v := range config.Vars() {
		vars[v.Name] = true
	}
	return vars
}

// TestConfigMapIsValidConfiguration loads the ConfigMap's variables with the
// daemon's own parser, so a typo in a name or an out-of-range value fails
// here rather than in a crash-looping pod. Each overlay's overrides are
// loaded on top of it.
func TestConfigMapIsValidConfiguration(t *testing.T) {
	base := readEnvFile(t, envFile)
	vars := documented()
	seen := map[string]bool{}
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !vars[name] {
			t.Errorf("%s sets %s, which is not a documented variable", envFile, name)
		}
		if seen[name] {
			t.Errorf("%s sets %s twice", envFile, name)
		}
		seen[name] = true
	}
	// The pool and memory settings are spelled out so that operators see
	// what they tune.
	for _, name := range []string{
		"WASM_POOL_SIZE", "WASM_MAX_INSTANCES", "WASM_IDLE_TIMEOUT_MS", "WASM_HEALTH_CHECK_INTERVAL_MS",
		"NATIVE_POOL_SIZE", "NATIVE_MAX_INSTANCES", "NATIVE_IDLE_TIMEOUT_MS", "WASM_MEMORY_LIMIT_MB",
		"MEMORY_PRESSURE_THRESHOLD", "GC_INTERVAL_MS", "CB_FAILURE_THRESHOLD", "CB_SUCCESS_THRESHOLD",
		"CB_TIMEOUT_MS", "HEALTH_CHECK_ENABLED", "HEALTH_CHECK_INTERVAL_MS",
		"GRPC_ADDR", "METRICS_ADDR", "WASM_COMPILATION_CACHE_DIR", "SHUTDOWN_GRACE_MS",
	} {
		if !seen[name] {
			t.Errorf("%s does not set %s", envFile, name)
		}
	}
	for _, tc := range []struct {
		overlay string
		extra   []string
	}{
		{"base", nil},
		// overlays/sidecar-unix's configMapGenerator literal.
		{"sidecar-unix", []string{"GRPC_ADDR=unix:///var/run/riptide/poold.sock"}},
	} {
		t.Run(tc.overlay, func(t *testing.T) {
			// Like os.Getenv, Load takes the first of duplicate variables:
			// overrides go first.
			env := append(append([]string{}, tc.extra...), base...)
			if _, err := config.Load(nil, env); err != nil {
				t.Errorf("the daemon would not start with this ConfigMap: %v", err)
			}
		})
	}
	// The override above must be the overlay's own.
	data, err := os.ReadFile(filepath.Join("kubernetes", "overlays", "sidecar-unix", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("- GRPC_ADDR=unix:///var/run/riptide/poold.sock")) {
		t.Error("overlays/sidecar-unix no longer sets the GRPC_ADDR this test loads; update both")
	}
}
