package wasm_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// TestInstrumentedCache checks the instrumented code kept beside the
// compilation cache: written by the first load, read by the next, and,
// damaged or truncated, made again rather than failing the module.
func TestInstrumentedCache(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	use := func(cacheDir string) {
		t.Helper()
		rt := newRuntime(t, wasm.RuntimeConfig{CompilationCacheDir: cacheDir})
		m := load(t, rt, "echo", wasm.ModuleOptions{})
		if !m.Instrumented() {
			t.Fatal("echo is not instrumented")
		}
		got, err := newInstance(t, m).Extract(ctx, wasm.Request{HTML: `{"ok":{"a":1}}`})
		if err != nil || asJSON(got) != `{"a":1}` {
			t.Fatalf("Extract = %s, %v", got, err)
		}
	}
	kept := func() (string, []byte) {
		t.Helper()
		paths, _ := filepath.Glob(filepath.Join(dir, "riptide-interrupt-v*.wasm"))
		if len(paths) != 1 {
			t.Fatalf("kept files %q, want one", paths)
		}
		b, err := os.ReadFile(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		return paths[0], b
	}

	use(dir)
	path, first := kept()
	use(dir) // reads it
	if _, again := kept(); string(again) != string(first) {
		t.Error("the second load rewrote the kept file")
	}
	damaged := []byte(string(first))
	damaged[len(damaged)/2] ^= 0xff
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	use(dir)
	if _, repaired := kept(); string(repaired) != string(first) {
		t.Error("the damaged file was not made again")
	}
	for _, size := range []int{len(first) / 2, 3, 0} {
		if err := os.Truncate(path, int64(size)); err != nil {
			t.Fatal(err)
		}
		use(dir)
		if _, repaired := kept(); string(repaired) != string(first) {
			t.Errorf("the file truncated to %d bytes was not made again", size)
		}
	}
}
