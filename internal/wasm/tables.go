package wasm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// MaxTableEntries bounds the tables of a module: wazero keeps a table on
// the Go heap, a word per entry, outside the linear memory cap, and grows
// it (table.grow) without looking at the call's deadline. A module whose
// table starts larger is refused at load; a table that declares no maximum,
// or a larger one, is given this maximum, so that growing it past this
// fails (table.grow returns -1, which the WebAssembly specification allows
// at any size). Go's c-shared builds declare one table of their functions,
// without a maximum, and never grow it (the bundled article module: 7,363
// entries).
const MaxTableEntries = 1 << 16

// tableEntryBytes is what one table entry costs the host.
const tableEntryBytes = 8

// Section ids of the WebAssembly binary format. wazero does not describe a
// compiled module's tables, so the host reads and rewrites the table
// section of the binary itself, before compiling it.
const (
	sectionImport = 2
	sectionTable  = 4
)

// tables is what readTables learned of a module's tables.
type tables struct {
	bytes    uint64   // the host memory the tables may take, once bounded
	problems []string // what makes the module unacceptable
	// section replaces the module's bytes [start, end) with a table
	// section whose maxima are bounded; nil when no table needs it.
	section    []byte
	start, end int
}

// bound returns bin, the module read, with every table's maximum set to at
// most MaxTableEntries: bin itself when none needed it, else a copy. Load
// makes the copy only when it compiles the module from bin: a module whose
// instrumented code is kept (see Runtime.instrumented) needs none, and the
// copy of a large module is megabytes of fresh memory, whose first touches
// are costly page faults in a virtual machine.
func (t *tables) bound(bin []byte) []byte {
	if t.section == nil {
		return bin
	}
	return slices.Concat(bin[:t.start], t.section, bin[t.end:])
}

// readTables reads the module's tables: the host memory they may take once
// bounded, the problems that make the module unacceptable, and how to bound
// them (tables.bound). An error says it could not follow the binary.
func readTables(bin []byte) (tables, error) {
	var t tables
	r := &reader{b: bin}
	if magic := r.bytes(8); r.err != nil || string(magic[:4]) != "\x00asm" {
		return tables{}, errors.New("not a WebAssembly binary")
	}
	// A section other than a custom one appears at most once: a second
	// table section would escape the bound that only one of them is given
	// (wazero refuses such a module too, but only after this reading).
	var seen [256]bool
	for r.err == nil && len(r.b) > 0 {
		start := len(bin) - len(r.b)
		id := r.byte()
		body := &reader{b: r.bytes(int(r.u32()))}
		end := len(bin) - len(r.b)
		if r.err != nil {
			break
		}
		if id != 0 && seen[id] {
			return tables{}, fmt.Errorf("section %d appears twice", id)
		}
		seen[id] = true
		switch id {
		case sectionImport:
			for n := body.u32(); n > 0 && body.err == nil; n-- {
				body.bytes(int(body.u32())) // module
				body.bytes(int(body.u32())) // name
				switch body.byte() {
				case 0x00: // function
					body.u32()
				case 0x01: // table
					t.problems = append(t.problems, "imports a table: a module must define its own")
					body.byte()
					body.limits()
				case 0x02: // memory
					body.limits()
				case 0x03: // global
					body.byte()
					body.byte()
				default:
					body.err = errors.New("unknown import kind")
				}
			}
		case sectionTable:
			var (
				rewritten []byte
				changed   bool
			)
			n := body.u32()
			rewritten = binary.AppendUvarint(rewritten, uint64(n))
			for i := range n {
				if body.err != nil {
					break
				}
				reftype := body.byte()
				if reftype == 0x40 { // a table with an initial value expression
					body.err = errors.New("a table with an initializer is not supported")
					break
				}
				flags := body.byte()
				if flags&^0x01 != 0 {
					body.err = fmt.Errorf("table %d: limits of kind %#x are not supported", i, flags)
					break
				}
				lo := body.u32()
				hi := uint32(MaxTableEntries)
				if flags&0x01 != 0 {
					if declared := body.u32(); declared <= hi {
						hi = declared
					} else {
						changed = true
					}
				} else {
					changed = true
				}
				if lo > MaxTableEntries {
					t.problems = append(t.problems, fmt.Sprintf("table %d starts with %d entries, over the limit of %d", i, lo, MaxTableEntries))
					continue
				}
				t.bytes += uint64(hi) * tableEntryBytes
				rewritten = append(rewritten, reftype, 0x01)
				rewritten = binary.AppendUvarint(rewritten, uint64(lo))
				rewritten = binary.AppendUvarint(rewritten, uint64(hi))
			}
			if body.err == nil && changed && len(t.problems) == 0 {
				t.section = slices.Concat([]byte{sectionTable}, binary.AppendUvarint(nil, uint64(len(rewritten))), rewritten)
				t.start, t.end = start, end
			}
		}
		if body.err != nil {
			return tables{}, fmt.Errorf("section %d: %w", id, body.err)
		}
	}
	if r.err != nil {
		return tables{}, r.err
	}
	return t, nil
}

// reader reads the encodings of the WebAssembly binary format.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errors.New("unexpected end")
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail()
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

// u32 reads an unsigned LEB128 number.
func (r *reader) u32() uint32 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > 1<<32-1 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

// limits skips a memory's or table's limits.
func (r *reader) limits() {
	flags := r.byte()
	if flags&0x04 != 0 { // 64-bit
		r.u64()
		if flags&0x01 != 0 {
			r.u64()
		}
		return
	}
	r.u32()
	if flags&0x01 != 0 {
		r.u32()
	}
}

func (r *reader) u64() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}
