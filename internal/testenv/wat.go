package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CheckWATSync checks that every dir/*.wasm is what wat2wasm makes of the
// .wat beside it, so a hostile test module cannot drift from the source a
// reviewer reads. regenerate says how to rebuild a stale one. It skips
// where wat2wasm (Debian package wabt) is not installed.
func CheckWATSync(t *testing.T, dir, regenerate string) {
	t.Helper()
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skipf("wat2wasm not installed (Debian package wabt): cannot check %s/*.wasm against their sources", dir)
	}
	sources, err := filepath.Glob(filepath.Join(dir, "*.wat"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no %s/*.wat: %v", dir, err)
	}
	for _, src := range sources {
		committed := strings.TrimSuffix(src, ".wat") + ".wasm"
		want, err := os.ReadFile(committed)
		if err != nil {
			t.Errorf("%s has no compiled %s: %s", src, committed, regenerate)
			continue
		}
		out := filepath.Join(t.TempDir(), "out.wasm")
		if msg, err := exec.Command(wat2wasm, src, "-o", out).CombinedOutput(); err != nil {
			t.Errorf("wat2wasm %s: %v\n%s", src, err, msg)
			continue
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
			t.Errorf("%s is stale: %s", committed, regenerate)
		}
	}
}
