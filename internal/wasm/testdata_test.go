package wasm_test

import (
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

// TestTestdataInSync checks that every committed .wasm is what wat2wasm makes
// of its .wat.
func TestTestdataInSync(t *testing.T) {
	testenv.CheckWATSync(t, "testdata", "run go generate ./internal/wasm")
}
