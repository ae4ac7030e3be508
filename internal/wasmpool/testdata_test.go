package wasmpool_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestdataInSync checks that every committed testdata/*.wasm is what
// wat2wasm makes of its .wat. Rebuild one with
// `wat2wasm testdata/x.wat -o testdata/x.wasm`.
func TestTestdataInSync(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed (Debian package wabt): cannot check testdata/*.wasm against their sources")
	}
	sources, err := filepath.Glob(filepath.Join("testdata", "*.wat"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no testdata/*.wat: %v", err)
	}
	for _, src := range sources {
		committed := strings.TrimSuffix(src, ".wat") + ".wasm"
		want, err := os.ReadFile(committed)
		if err != nil {
			t.Errorf("%s has no compiled %s", src, committed)
			continue
		}
		out := filepath.Join(t.TempDir(), "out.wasm")
		if msg, err := exec.Command(wat2wasm, src, "-o", out).CombinedOutput(); err != nil {
			t.Errorf("wat2wasm %s: %v\n%s", src, err, msg)
			continue
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
			t.Errorf("%s is stale: rebuild it with wat2wasm", committed)
		}
	}
}
