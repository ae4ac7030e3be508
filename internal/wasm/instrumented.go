package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/riptidecrawler/riptide-poold/internal/wasm/interrupt"
)

// instrumented returns bin rewritten by package interrupt. With a
// compilation cache directory the result is kept there too, named after the
// digest of bin and the pass's Version, and read back by the next load of
// the same bytes: the pass costs the bundled module tens of milliseconds,
// a good part of a start whose compiled code comes from the cache. The file
// ends with the digest of the rest, so that a damaged one is instrumented
// again rather than refused as an invalid module.
func (r *Runtime) instrumented(ctx context.Context, name string, bin []byte) ([]byte, error) {
	dir := r.cfg.CompilationCacheDir
	if dir == "" {
		return interrupt.Instrument(bin)
	}
	path := filepath.Join(dir, fmt.Sprintf("riptide-interrupt-v%d-%x.wasm", interrupt.Version, sha256.Sum256(bin)))
	if b, err := os.ReadFile(path); err == nil && len(b) >= sha256.Size {
		out, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
		if digest := sha256.Sum256(out); bytes.Equal(digest[:], sum) {
			return out, nil
		}
	}
	out, err := interrupt.Instrument(bin)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(out)
	if err := writeAtomically(dir, path, append(out[:len(out):len(out)], digest[:]...)); err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "wasm module's instrumented code not cached", slog.String("module", name), slog.Any("error", err))
	}
	return out, nil
}

// writeAtomically writes b to path through a temporary file in dir, so that
// a reader sees all of it or nothing.
func writeAtomically(dir, path string, b []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "riptide-interrupt-*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
