package wasmpool_test

import (
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

// TestTestdataInSync checks that every committed testdata/*.wasm is what
// wat2wasm makes of its .wat.
func TestTestdataInSync(t *testing.T) {
	testenv.CheckWATSync(t, "testdata", "rebuild it with `wat2wasm testdata/x.wat -o testdata/x.wasm`")
}
