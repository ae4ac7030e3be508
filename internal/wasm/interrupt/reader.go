package interrupt

import (
	"errors"
	"fmt"
)

// reader reads the binary format. Its first error sticks: later reads
// return zero values, so a sequence of reads is checked once, after it.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("unexpected end")

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail(errShort.Error())
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n uint32) []byte {
	if r.err != nil || uint64(n) > uint64(len(r.b)) {
		r.fail(errShort.Error())
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

// leb returns the bytes of a LEB128 number of at most max bytes, signed or
// not: the caller copies it as it is.
func (r *reader) leb(max int) []byte {
	for i := range max {
		if i >= len(r.b) || r.err != nil {
			break
		}
		if r.b[i]&0x80 == 0 {
			return r.bytes(uint32(i + 1))
		}
	}
	r.fail("bad LEB128 number")
	return nil
}

// u32 reads an unsigned LEB128 number that fits 32 bits.
func (r *reader) u32() uint32 {
	var v uint64
	for i := 0; ; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			break
		}
		if i == 4 {
			r.fail("bad LEB128 number")
			return 0
		}
	}
	if v > 1<<32-1 {
		r.fail("number over 32 bits")
		return 0
	}
	return uint32(v)
}

func (r *reader) name() string {
	return string(r.bytes(r.u32()))
}

func (r *reader) limits() {
	switch r.byte() {
	case 0x00:
		r.u32()
	case 0x01:
		r.u32()
		r.u32()
	default:
		r.fail("unknown limits")
	}
}

func (r *reader) memarg() {
	r.u32() // alignment
	r.u32() // offset
}

// blockType reads a block type: empty or a value type (-1), or a type
// index (a non-negative signed 33-bit number, at most 32 bits here).
func (r *reader) blockType() int64 {
	if len(r.b) > 0 && r.err == nil {
		switch c := r.b[0]; c {
		case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
			r.b = r.b[1:]
			return -1
		}
		if r.b[0]&0x40 != 0 && r.b[0]&0x80 == 0 { // a negative one-byte number
			r.fail(fmt.Sprintf("unknown block type %#x", r.b[0]))
			return -1
		}
	}
	b := r.leb(5)
	if len(b) == 0 {
		return -1
	}
	var v int64
	for i, c := range b {
		v |= int64(c&0x7f) << (7 * i)
	}
	if b[len(b)-1]&0x40 != 0 || v >= 1<<32 { // negative, or too large an index
		r.fail("block type out of range")
		return -1
	}
	return v
}

// valTypes reads a vector of value types.
func (r *reader) valTypes() []byte {
	types := r.bytes(r.u32())
	for _, t := range types {
		switch t {
		case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		default:
			r.fail(fmt.Sprintf("unknown value type %#x", t))
			return nil
		}
	}
	return types
}

// skipValTypes skips a vector of value types.
func (r *reader) skipValTypes() { r.valTypes() }

// end checks that what was read is all there was.
func (r *reader) end(what string) error {
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes left over", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnsupported, what, r.err)
	}
	return nil
}
