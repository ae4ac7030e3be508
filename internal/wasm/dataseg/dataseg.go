// Package dataseg rewrites the data section of a WebAssembly module so that
// instantiating it costs less.
//
// Go's linker splits a module's initial memory image into one data segment
// per run of non-zero bytes: the bundled article module has some 73,000
// segments, most a few dozen bytes apart. wazero evaluates each segment's
// offset expression, allocating, every time it instantiates the module,
// which made up half of a new instance's cost. Merge joins segments that are
// close together, writing the zero bytes between them explicitly: the
// memory image is the same, the segments a few hundred.
package dataseg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Section ids of the binary format.
const (
	sectionData      = 11
	sectionDataCount = 12
)

// Instructions of an active segment's offset expression.
const (
	opI32Const = 0x41
	opEnd      = 0x0b
)

var magic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// ErrMalformed reports a module whose structure Merge cannot read.
var ErrMalformed = errors.New("dataseg: malformed module")

// Stats tells what Merge did.
type Stats struct {
	Before, After int // data segments
	ZeroBytes     int // zero bytes added between merged segments
}

// Merge returns module with every run of active data segments that are at
// most maxGap bytes apart joined into one, the gaps filled with zeros, and
// everything else unchanged. Segments are applied in order at
// instantiation, later ones over earlier ones; a gap is filled only when no
// earlier segment wrote to it, so the memory image is the same.
//
// A module whose segments Merge cannot safely renumber is returned as it
// is, with After equal to Before: one with a data count section (whose
// memory.init and data.drop instructions name segments by index), a passive
// segment, or an offset other than a constant. The input is not modified.
func Merge(module []byte, maxGap int) ([]byte, Stats, error) {
	if len(module) < len(magic) || string(module[:len(magic)]) != string(magic) {
		return nil, Stats{}, fmt.Errorf("%w: not a WebAssembly 1.0 binary", ErrMalformed)
	}
	var data []byte // the data section's contents
	dataStart, dataEnd := -1, -1
	mergeable := true
	for p := len(magic); p < len(module); {
		start := p
		id := module[p]
		size, n := binary.Uvarint(module[p+1:])
		if n <= 0 || size > uint64(len(module)-(p+1+n)) {
			return nil, Stats{}, fmt.Errorf("%w: section %d at %d: bad size", ErrMalformed, id, p)
		}
		p += 1 + n + int(size)
		switch id {
		case sectionDataCount:
			mergeable = false
		case sectionData:
			if dataStart >= 0 {
				return nil, Stats{}, fmt.Errorf("%w: two data sections", ErrMalformed)
			}
			dataStart, dataEnd = start, p
			data = module[p-int(size) : p]
		}
	}
	if dataStart < 0 {
		return module, Stats{}, nil
	}
	segs, err := parseData(data)
	if err != nil {
		return nil, Stats{}, err
	}
	st := Stats{Before: len(segs), After: len(segs)}
	for _, s := range segs {
		mergeable = mergeable && s.active
	}
	if !mergeable {
		return module, st, nil
	}
	merged, zeros := merge(segs, maxGap)
	st.After, st.ZeroBytes = len(merged), zeros

	body := binary.AppendUvarint(nil, uint64(len(merged)))
	for _, s := range merged {
		body = append(body, 0, opI32Const)
		body = appendSLEB32(body, int32(uint32(s.offset)))
		body = append(body, opEnd)
		body = binary.AppendUvarint(body, uint64(len(s.init)))
		body = append(body, s.init...)
	}
	out := make([]byte, 0, len(module)-(dataEnd-dataStart)+len(body)+6)
	out = append(out, module[:dataStart]...)
	out = append(out, sectionData)
	out = binary.AppendUvarint(out, uint64(len(body)))
	out = append(out, body...)
	out = append(out, module[dataEnd:]...)
	return out, st, nil
}

// segment is one data segment; offset and init are only read for active
// segments with a constant offset.
type segment struct {
	active bool
	offset uint64 // the i32 offset, unsigned
	init   []byte
}

func (s segment) end() uint64 { return s.offset + uint64(len(s.init)) }

// parseData reads the data section's segments.
func parseData(b []byte) ([]segment, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) { // each segment takes a byte at least
		return nil, fmt.Errorf("%w: data section: bad count", ErrMalformed)
	}
	b = b[n:]
	segs := make([]segment, 0, count)
	for k := range count {
		var s segment
		flag, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("%w: data segment %d: bad flags", ErrMalformed, k)
		}
		b = b[n:]
		switch flag {
		case 0:
			off, n, ok := constOffset(b)
			if ok {
				s.active, s.offset = true, uint64(uint32(off))
				b = b[n:]
				break
			}
			// Another expression: skip it, and leave the section alone.
			end := slices.Index(b, opEnd)
			if end < 0 {
				return nil, fmt.Errorf("%w: data segment %d: unterminated offset", ErrMalformed, k)
			}
			b = b[end+1:]
		case 1:
		default: // 2, an explicit memory, or unknown: not ours to rewrite
			return nil, fmt.Errorf("%w: data segment %d: flags %d", ErrMalformed, k, flag)
		}
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, fmt.Errorf("%w: data segment %d: bad size", ErrMalformed, k)
		}
		s.init = b[n : n+int(size)]
		b = b[n+int(size):]
		segs = append(segs, s)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the data segments", ErrMalformed, len(b))
	}
	return segs, nil
}

// constOffset reads the expression "i32.const v; end".
func constOffset(b []byte) (v int32, n int, ok bool) {
	if len(b) < 3 || b[0] != opI32Const {
		return 0, 0, false
	}
	x, m := readSLEB32(b[1:])
	if m <= 0 || 1+m >= len(b) || b[1+m] != opEnd {
		return 0, 0, false
	}
	return x, 1 + m + 1, true
}

// merge joins runs of segments at most maxGap apart. A segment joins the
// run before it only if it starts at or after the run's end and no earlier
// run covers any byte of the gap, which the merged segment would overwrite
// with zeros.
func merge(segs []segment, maxGap int) ([]segment, int) {
	var (
		out     []segment
		written spans // bytes written by earlier runs
		run     segment
		buf     []byte // run.init once it is a copy
		zeros   int
	)
	flush := func() {
		out = append(out, run)
		written.add(run.offset, run.end())
		buf = nil
	}
	for k, s := range segs {
		if k > 0 {
			end := run.end()
			if s.offset >= end && s.offset-end <= uint64(maxGap) && !written.overlaps(end, s.offset) {
				if buf == nil {
					buf = slices.Clone(run.init)
				}
				gap := int(s.offset - end)
				buf = append(buf, make([]byte, gap)...)
				buf = append(buf, s.init...)
				run.init = buf
				zeros += gap
				continue
			}
			flush()
		}
		run = s
	}
	if len(segs) > 0 {
		flush()
	}
	return out, zeros
}

// spans is a set of byte ranges: disjoint [lo, hi) pairs sorted by lo.
type spans []struct{ lo, hi uint64 }

// add adds [lo, hi), joining the ranges it overlaps or touches.
func (s *spans) add(lo, hi uint64) {
	if lo == hi {
		return
	}
	r := *s
	// first is the first range ending at or after lo, last the first one
	// starting after hi: r[first:last] join the new one.
	first, _ := slices.BinarySearchFunc(r, lo, func(x struct{ lo, hi uint64 }, v uint64) int { return cmpUint(x.hi, v) })
	last, _ := slices.BinarySearchFunc(r, hi+1, func(x struct{ lo, hi uint64 }, v uint64) int { return cmpUint(x.lo, v) })
	if first < last {
		lo, hi = min(lo, r[first].lo), max(hi, r[last-1].hi)
	}
	*s = slices.Replace(r, first, last, struct{ lo, hi uint64 }{lo, hi})
}

// overlaps reports whether a range of s has a byte in [lo, hi).
func (s spans) overlaps(lo, hi uint64) bool {
	if lo >= hi {
		return false
	}
	k, _ := slices.BinarySearchFunc(s, lo+1, func(x struct{ lo, hi uint64 }, v uint64) int { return cmpUint(x.hi, v) })
	return k < len(s) && s[k].lo < hi
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readSLEB32 decodes a signed LEB128 of at most 5 bytes.
func readSLEB32(b []byte) (int32, int) {
	var v int64
	var shift uint
	for k := 0; k < 5 && k < len(b); k++ {
		c := b[k]
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			if v < -1<<31 || v > 1<<31-1 {
				return 0, -1
			}
			return int32(v), k + 1
		}
	}
	return 0, -1
}

// appendSLEB32 appends v as a signed LEB128.
func appendSLEB32(b []byte, v int32) []byte {
	x := int64(v)
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if x == 0 && c&0x40 == 0 || x == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
