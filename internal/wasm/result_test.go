package wasm

import (
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
)

// TestConvertedSizeBoundsHeap checks the premise of ValueCost: for results
// of many small values, the shapes that cost the host most per byte of
// JSON, the converted size the decoder charges is at least the heap the
// result keeps and at least its protobuf encoding, so that bounding the
// first bounds the other two.
func TestConvertedSizeBoundsHeap(t *testing.T) {
	const n = 20000
	list := func(item string) string {
		return `{"ok":{"a":[` + strings.Repeat(item+",", n-1) + item + `]}}`
	}
	var keys strings.Builder
	keys.WriteString(`{"ok":{`)
	for i := range n {
		if i > 0 {
			keys.WriteByte(',')
		}
		keys.WriteString(`"` + strings.Repeat("k", 1+i%7) + itoa(i) + `":1`)
	}
	keys.WriteString(`}}`)
	tests := []struct{ name, result string }{
		{"numbers", list("1")},
		{"booleans", list("true")},
		{"nulls", list("null")},
		{"empty strings", list(`""`)},
		{"short strings", list(`"ab"`)},
		{"empty objects", list("{}")},
		{"empty arrays", list("[]")},
		{"one-key objects", list(`{"k":1}`)},
		{"keys", keys.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.result)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			d := &resultDecoder{budget: 1 << 30, limit: 1 << 30}
			st, _, _, err, reason := d.envelope(b)
			if err != nil || reason != "" {
				t.Fatalf("decode: %v %s", err, reason)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			retained := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			wire := proto.Size(st)
			runtime.KeepAlive(st)
			charged := d.converted()
			t.Logf("%d JSON bytes: charged %d, heap %d, protobuf %d", len(b), charged, retained, wire)
			if int64(charged) < retained || charged < wire {
				t.Errorf("charged %d bytes for a result that keeps %d on the heap and encodes to %d", charged, retained, wire)
			}
		})
	}
}

func TestGuestTextCut(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"bad \xff byte", 20, "bad \uFFFD byte"},
		{"0123456789abc", 10, "0123456…"},
		{"ééééé", 7, "éé…"},
		{"é\xc3", 10, "é\uFFFD"},
	}
	for _, tt := range tests {
		got := guestText(tt.in, tt.limit)
		if got != tt.want || !utf8.ValidString(got) || len(got) > tt.limit {
			t.Errorf("guestText(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

// FuzzDecodeEnvelope decodes arbitrary bytes as a result envelope with a
// small budget: a Struct that marshals within the budget, or an error,
// never a panic.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, seed := range []string{
		`{"ok":{"a":[1,"x",true,null,{"b":{}}]}}`,
		`{"error":{"code":"INTERNAL","message":"boom"}}`,
		`{"ok":{"a":1,"a":2}}`,
		"{\"ok\":{\"a\":\"\xff\"}}",
		`{"ok":{"a":1e999}}`,
		`{"ok":` + strings.Repeat(`{"a":`, 40) + "{}" + strings.Repeat("}", 41),
		`{"ok":{}} x`,
	} {
		f.Add([]byte(seed))
	}
	const budget = 1 << 14
	f.Fuzz(func(t *testing.T, b []byte) {
		st, code, message, err, reason := decodeEnvelope(b, budget)
		switch {
		case st != nil:
			if n := proto.Size(st); n > budget {
				t.Fatalf("a result of %d protobuf bytes passed a budget of %d", n, budget)
			}
			if _, err := proto.Marshal(st); err != nil {
				t.Fatalf("the result does not marshal: %v", err)
			}
		case code != "":
			if !utf8.ValidString(code) || !utf8.ValidString(message) || len(message) > MaxGuestTextBytes {
				t.Fatalf("guest error %q: %q", code, message)
			}
		case err == nil && reason == "":
			t.Fatal("no result, no error")
		}
	})
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}
