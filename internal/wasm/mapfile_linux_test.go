package wasm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestKeptFileTruncatedWhileMapped truncates a kept instrumented module
// while it is mapped: reading the mapping then faults, which checkKept and
// compileModule must report (a mismatch, errFault) rather than let end the
// process.
func TestKeptFileTruncatedWhileMapped(t *testing.T) {
	bin, err := os.ReadFile(filepath.Join("testdata", "echo.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kept.wasm")
	kept := binary.LittleEndian.AppendUint32(slices.Clone(bin), crc32.Checksum(bin, crc32c))
	if err := os.WriteFile(path, kept, 0o600); err != nil {
		t.Fatal(err)
	}
	b, unmap, err := mapFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer unmap()
	code, ok := checkKept(b)
	if !ok || !bytes.Equal(code, bin) {
		t.Fatalf("checkKept of the intact file: %v, %d bytes; want true, %d", ok, len(code), len(bin))
	}

	ctx := context.Background()
	rt, err := NewRuntime(ctx, RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := checkKept(b); ok {
		t.Error("checkKept of the truncated file: true")
	}
	if c, err := compileModule(ctx, rt.plain, code); !errors.Is(err, errFault) {
		if c != nil {
			c.Close(ctx)
		}
		t.Errorf("compileModule of the truncated file: %v, want errFault", err)
	}
}
