package dataseg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// seg is a test segment: active at off unless passive.
type seg struct {
	off     int32
	init    string
	passive bool
}

// module builds a module with a memory of one page, the given segments and,
// if dataCount, a data count section.
func module(segs []seg, dataCount bool) []byte {
	b := bytes.Clone(magic)
	section := func(id byte, body []byte) {
		b = append(b, id)
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	section(5, []byte{1, 0, 1}) // memory: one, min 1 page
	if dataCount {
		section(sectionDataCount, binary.AppendUvarint(nil, uint64(len(segs))))
	}
	body := binary.AppendUvarint(nil, uint64(len(segs)))
	for _, s := range segs {
		if s.passive {
			body = append(body, 1)
		} else {
			body = append(body, 0, opI32Const)
			body = appendSLEB32(body, s.off)
			body = append(body, opEnd)
		}
		body = binary.AppendUvarint(body, uint64(len(s.init)))
		body = append(body, s.init...)
	}
	section(sectionData, body)
	section(0, []byte("\x04namexyz")) // a custom section after it
	return b
}

// image applies the active segments of a module's data section in order
// to a zero memory of the given size, as instantiation does. ok is false if
// a segment falls outside it.
func image(t testing.TB, mod []byte, size int) (mem []byte, count int, ok bool) {
	t.Helper()
	var data []byte
	for p := len(magic); p < len(mod); {
		id := mod[p]
		n, m := binary.Uvarint(mod[p+1:])
		body := mod[p+1+m : p+1+m+int(n)]
		if id == sectionData {
			data = body
		}
		p += 1 + m + int(n)
	}
	if data == nil {
		return make([]byte, size), 0, true
	}
	segs, err := parseData(data)
	if err != nil {
		t.Fatalf("the data section does not parse: %v", err)
	}
	mem = make([]byte, size)
	for _, s := range segs {
		if !s.active {
			continue
		}
		if s.end() > uint64(size) {
			return nil, len(segs), false
		}
		copy(mem[s.offset:], s.init)
	}
	return mem, len(segs), true
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name      string
		segs      []seg
		gap       int
		wantAfter int
		wantZeros int
	}{
		{"none", nil, 16, 0, 0},
		{"one", []seg{{0, "abc", false}}, 16, 1, 0},
		{"close", []seg{{0, "ab", false}, {10, "cd", false}, {20, "ef", false}}, 8, 1, 16},
		{"adjacent", []seg{{0, "ab", false}, {2, "cd", false}}, 0, 1, 0},
		{"far", []seg{{0, "ab", false}, {100, "cd", false}}, 8, 2, 0},
		{"gap zero", []seg{{0, "ab", false}, {3, "cd", false}}, 0, 2, 0},
		{"out of order", []seg{{100, "ab", false}, {0, "cd", false}, {4, "ef", false}}, 8, 2, 2},
		{"overlapping", []seg{{0, "abcd", false}, {2, "XY", false}}, 8, 2, 0},
		// The gap [2, 10) holds what segment 0 wrote at 4: filling it
		// with zeros would erase it.
		{"gap written before", []seg{{4, "zz", false}, {0, "ab", false}, {10, "cd", false}}, 16, 3, 0},
		{"gap written before elsewhere", []seg{{40, "zz", false}, {0, "ab", false}, {10, "cd", false}}, 16, 2, 8},
		{"negative offset", []seg{{-1, "a", false}, {0, "b", false}}, 8, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := module(tt.segs, false)
			orig := bytes.Clone(in)
			out, st, err := Merge(in, tt.gap)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, orig) {
				t.Error("Merge modified its input")
			}
			if st.Before != len(tt.segs) || st.After != tt.wantAfter || st.ZeroBytes != tt.wantZeros {
				t.Errorf("stats %+v; want %d segments into %d, %d zeros", st, len(tt.segs), tt.wantAfter, tt.wantZeros)
			}
			want, _, wantOK := image(t, in, 1<<16)
			got, n, gotOK := image(t, out, 1<<16)
			if n != st.After || gotOK != wantOK || !bytes.Equal(got, want) {
				t.Errorf("memory image differs after merging (%d segments, in bounds %v, want %v)", n, gotOK, wantOK)
			}
			if !bytes.HasSuffix(out, []byte("\x04namexyz")) {
				t.Error("the sections after the data section were not kept")
			}
		})
	}
}

func TestMergeLeavesAlone(t *testing.T) {
	close := []seg{{0, "ab", false}, {4, "cd", false}}
	tests := []struct {
		name string
		mod  []byte
	}{
		{"data count section", module(close, true)},
		{"passive segment", module(append(close, seg{0, "p", true}), false)},
		{"no data section", magic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st, err := Merge(tt.mod, 16)
			if err != nil || !bytes.Equal(out, tt.mod) || st.After != st.Before {
				t.Errorf("Merge = %d bytes, %+v, %v; want the module unchanged", len(out), st, err)
			}
		})
	}
}

func TestMergeMalformed(t *testing.T) {
	good := module([]seg{{0, "ab", false}}, false)
	tests := []struct {
		name string
		mod  []byte
	}{
		{"empty", nil},
		{"not wasm", []byte("\x7fELF\x02\x01\x01\x00")},
		{"truncated", good[:len(good)-12]},
		{"section too long", append(bytes.Clone(magic), 11, 0x7f)},
		{"segment count too high", append(bytes.Clone(magic), 11, 1, 5)},
		{"explicit memory", append(bytes.Clone(magic), 11, 6, 1, 2, 0, 0x41, 0, 0x0b)},
		{"trailing bytes", append(bytes.Clone(magic), 11, 2, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Merge(tt.mod, 16); !errors.Is(err, ErrMalformed) {
				t.Errorf("Merge: %v; want ErrMalformed", err)
			}
		})
	}
}

func TestSLEB32(t *testing.T) {
	for _, v := range []int32{0, 1, -1, 63, 64, -64, -65, 1 << 20, -1 << 31, 1<<31 - 1} {
		b := appendSLEB32(nil, v)
		if got, n := readSLEB32(b); got != v || n != len(b) {
			t.Errorf("%d: encoded % x, decoded %d (%d bytes)", v, b, got, n)
		}
	}
}

// FuzzMerge checks that merging any module that parses keeps its memory
// image, and that merging twice changes nothing more.
func FuzzMerge(f *testing.F) {
	f.Add(module([]seg{{0, "ab", false}, {10, "cd", false}, {20, "ef", false}}, false), 8)
	f.Add(module([]seg{{4, "zz", false}, {0, "ab", false}, {10, "cd", false}}, false), 16)
	f.Add(module([]seg{{0, "ab", false}, {0, "p", true}}, false), 4)
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x0b\x01\x00"), 0)
	f.Fuzz(func(t *testing.T, mod []byte, gap int) {
		gap &= 0xffff
		out, st, err := Merge(mod, gap)
		if err != nil {
			return
		}
		const size = 1 << 16
		want, _, wantOK := image(t, mod, size)
		got, n, gotOK := image(t, out, size)
		if n != st.After {
			t.Fatalf("%d segments in the output; stats %+v", n, st)
		}
		if gotOK != wantOK || (wantOK && !bytes.Equal(got, want)) {
			t.Fatalf("memory image differs after merging")
		}
		again, st2, err := Merge(out, gap)
		if err != nil || !bytes.Equal(again, out) && st2.After != st.After {
			t.Fatalf("merging again: %v, %+v after %+v", err, st2, st)
		}
	})
}
