package wasm

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/riptidecrawler/riptide-poold/internal/wasm/interrupt"
)

// instrumented returns bin, its tables bounded (tables.bound), rewritten by
// package interrupt, and a function that releases it once compiled. With a
// compilation cache directory the result is kept there too, named after
// the pass's Version, the table and stack bounds and the length, CRC-32C
// and CRC-32 (IEEE) of bin, and mapped by the next load of the same bytes
// unless reuse is false: the pass costs the bundled module tens of
// milliseconds, a good part of a start whose compiled code comes from the
// cache. The file ends with the CRC-32C of the rest, so that a damaged one
// is made again rather than refused as an invalid module.
//
// The name is computed from bin as given, not from its bounded copy, so
// that a module whose code is kept is never copied; and the kept code is
// mapped rather than read (see mapFile). wazero copies what it keeps of
// the bytes it compiles (function bodies, data segments, names), so the
// mapping can be released once it has.
//
// Checksums, not SHA-256: hashing 7 MB twice with SHA-256 took 35-75 ms
// here, as long as the pass; and two CRC-32s of different polynomials,
// which the processor computes (0.3 ms each for the bundled module), where
// a CRC-64 is computed with tables (7-14 ms). A module that shared
// another's name here would only be given the other's code, which whoever
// can place module files could give it anyway; and whoever can write the
// cache directory can give any module any machine code through wazero's
// own cache, which checks only a CRC-32C.
func (r *Runtime) instrumented(ctx context.Context, name string, bin []byte, tabs *tables, reuse bool) (code []byte, release func(), err error) {
	opts := interrupt.Options{StackBytes: r.cfg.MaxStackKB << 10}
	dir := r.cfg.CompilationCacheDir
	if dir == "" {
		code, err = instrumentCode(tabs.bound(bin), opts)
		return code, noRelease, err
	}
	path := filepath.Join(dir, fmt.Sprintf("riptide-interrupt-v%d-t%d-s%d-%d-%08x%08x.wasm",
		interrupt.Version, MaxTableEntries, opts.StackBytes, len(bin), crc32.Checksum(bin, crc32c), crc32.ChecksumIEEE(bin)))
	if reuse {
		if b, unmap, err := mapFile(path); err == nil {
			if out, ok := checkKept(b); ok {
				return out, unmap, nil
			}
			unmap()
		}
	}
	out, err := instrumentCode(tabs.bound(bin), opts)
	if err != nil {
		return nil, nil, err
	}
	kept := binary.LittleEndian.AppendUint32(out[:len(out):len(out)], crc32.Checksum(out, crc32c))
	if err := writeAtomically(dir, path, kept); err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "wasm module's instrumented code not cached", slog.String("module", name), slog.Any("error", err))
	}
	return out, noRelease, nil
}

func noRelease() {}

// instrumentCode is interrupt.Instrument with a panic turned into an
// error, as compileModule does for wazero's: a fault of the pass on one
// module file must not end the daemon. The module is then one the pass
// cannot read (interrupt.ErrUnsupported). FuzzInstrument calls Instrument
// itself, so this hides no fault from it.
func instrumentCode(bin []byte, opts interrupt.Options) ([]byte, error) {
	return unpanicked(func() ([]byte, error) { return interrupt.Instrument(bin, opts) })
}

// unpanicked returns what f returns or, if f panics, an error wrapping
// interrupt.ErrUnsupported that gives the panic's value.
func unpanicked(f func() ([]byte, error)) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%w: the interruption pass failed on it: %v", interrupt.ErrUnsupported, p)
		}
	}()
	return f()
}

// checkKept returns the instrumented code of the kept file b, without its
// CRC-32C, and whether that matches. A fault reading a mapped b (its file
// truncated meanwhile) is a mismatch, not the end of the process.
func checkKept(b []byte) (out []byte, ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if _, fault := p.(interface{ Addr() uintptr }); !fault {
				panic(p)
			}
			out, ok = nil, false
		}
	}()
	if len(b) < 4 {
		return nil, false
	}
	out, sum := b[:len(b)-4], b[len(b)-4:]
	return out, crc32.Checksum(out, crc32c) == binary.LittleEndian.Uint32(sum)
}

var crc32c = crc32.MakeTable(crc32.Castagnoli)

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
