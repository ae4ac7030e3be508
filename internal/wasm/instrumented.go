package wasm

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/riptidecrawler/riptide-poold/internal/wasm/interrupt"
)

// instrumented returns bin rewritten by package interrupt. With a
// compilation cache directory the result is kept there too, named after the
// pass's Version, the stack budget and the length and CRC-64 of bin, and read back by the
// next load of the same bytes: the pass costs the bundled module tens of
// milliseconds, a good part of a start whose compiled code comes from the
// cache. The file ends with the CRC-32C of the rest, so that a damaged one
// is made again rather than refused as an invalid module.
//
// Checksums, not SHA-256: hashing 7 MB twice with SHA-256 took 35-75 ms
// here, as long as the pass. A module that shared another's name here
// would only be given the other's code, which whoever can place module
// files could give it anyway.
func (r *Runtime) instrumented(ctx context.Context, name string, bin []byte) ([]byte, error) {
	opts := interrupt.Options{StackBytes: r.cfg.MaxStackKB << 10}
	dir := r.cfg.CompilationCacheDir
	if dir == "" {
		return interrupt.Instrument(bin, opts)
	}
	path := filepath.Join(dir, fmt.Sprintf("riptide-interrupt-v%d-s%d-%d-%016x.wasm",
		interrupt.Version, opts.StackBytes, len(bin), crc64.Checksum(bin, crc64Table)))
	if b, err := os.ReadFile(path); err == nil && len(b) >= 4 {
		out, sum := b[:len(b)-4], b[len(b)-4:]
		if crc32.Checksum(out, crc32c) == binary.LittleEndian.Uint32(sum) {
			return out, nil
		}
	}
	out, err := interrupt.Instrument(bin, opts)
	if err != nil {
		return nil, err
	}
	kept := binary.LittleEndian.AppendUint32(out[:len(out):len(out)], crc32.Checksum(out, crc32c))
	if err := writeAtomically(dir, path, kept); err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "wasm module's instrumented code not cached", slog.String("module", name), slog.Any("error", err))
	}
	return out, nil
}

var (
	crc64Table = crc64.MakeTable(crc64.ECMA)
	crc32c     = crc32.MakeTable(crc32.Castagnoli)
)

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
