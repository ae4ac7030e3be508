package wasm_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
)

// articleWASM is the path of the bundled article module, a build product.
var articleWASM = filepath.Join("bundled", "article.wasm")

// articleBuildError says why article.wasm is missing, if it is.
var articleBuildError error

// compilationCache is shared by the tests' runtimes, so that the article
// module (seconds to compile) is compiled once per run of the tests, or once
// for good in $RIPTIDE_TEST_WAZERO_CACHE if set.
var compilationCache string

func TestMain(m *testing.M) {
	if _, err := os.Stat(articleWASM); err != nil {
		// Build it as make would. Slow (minutes on a busy machine), but
		// only once per checkout.
		fmt.Fprintln(os.Stderr, "wasm tests: building", articleWASM, "with scripts/build-guest.sh")
		cmd := exec.Command(filepath.Join("..", "..", "scripts", "build-guest.sh"))
		if out, err := cmd.CombinedOutput(); err != nil {
			articleBuildError = fmt.Errorf("scripts/build-guest.sh: %v\n%s", err, out)
		}
	}
	if dir := os.Getenv("RIPTIDE_TEST_WAZERO_CACHE"); dir != "" {
		compilationCache = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "wasm-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	compilationCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// readArticle returns the article module, or skips the test.
func readArticle(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(articleWASM)
	if err != nil {
		t.Skipf("no %s (build it with scripts/build-guest.sh or make): %v %v", articleWASM, err, articleBuildError)
	}
	return b
}

// corpusDir returns the readability corpus, or skips the test.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, ok := quality.FindCorpus(filepath.Join("..", "..", "..", "shared", "corpus", "readability"))
	if !ok {
		t.Skip("no readability corpus at ../../../shared/corpus/readability or $RIPTIDE_CORPUS_DIR")
	}
	return dir
}
