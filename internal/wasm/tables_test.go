package wasm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/wasm/bundled"
)

// boundTables is readTables and tables.bound in one call, as the tests
// want them.
func boundTables(bin []byte) ([]byte, uint64, []string, error) {
	t, err := readTables(bin)
	if err != nil {
		return bin, 0, nil, err
	}
	return t.bound(bin), t.bytes, t.problems, nil
}

func TestBoundTables(t *testing.T) {
	tests := []struct {
		module    string
		want      string // in the problems; "" for none
		rewritten bool
		bytes     uint64
	}{
		{module: "echo"},
		{module: "tablebig", want: "table 0 starts with 134217728 entries, over the limit of 65536"},
		{module: "tablegrow", rewritten: true, bytes: MaxTableEntries * tableEntryBytes},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			bin, err := os.ReadFile(filepath.Join("testdata", tt.module+".wasm"))
			if err != nil {
				t.Fatal(err)
			}
			out, n, problems, err := boundTables(bin)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(problems, "; "); tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("problems %q, want %q", got, tt.want)
			}
			if tt.want != "" {
				return
			}
			if rewritten := !bytes.Equal(out, bin); rewritten != tt.rewritten || n != tt.bytes {
				t.Errorf("rewritten %v, %d bytes of tables; want %v, %d", rewritten, n, tt.rewritten, tt.bytes)
			}
			// A second pass finds nothing to change.
			if again, n2, _, err := boundTables(out); err != nil || !bytes.Equal(again, out) || n2 != n {
				t.Errorf("second pass: changed %v, %d bytes, %v", !bytes.Equal(again, out), n2, err)
			}
		})
	}
	t.Run("bundled", func(t *testing.T) {
		bin := bundled.Article()
		out, n, problems, err := boundTables(bin)
		if err != nil || len(problems) > 0 || n != MaxTableEntries*tableEntryBytes || bytes.Equal(out, bin) {
			t.Fatalf("%d bytes (was %d), %d bytes of tables, %q, %v", len(out), len(bin), n, problems, err)
		}
	})
}

// TestBoundTablesRefusesRepeatedSections: a module with two table
// sections (or two of any section but custom ones) is refused, rather
// than having only the last one bounded. Found by FuzzBoundTables.
func TestBoundTablesRefusesRepeatedSections(t *testing.T) {
	table := "\x04\x04\x01\x70\x00\x01" // one funcref table, at least 1 entry, no maximum
	tests := []struct {
		name string
		bin  string
		ok   bool
	}{
		{"one table section", "\x00asm\x01\x00\x00\x00" + table, true},
		{"two table sections", "\x00asm\x01\x00\x00\x00" + table + table, false},
		{"two import sections", "\x00asm\x01\x00\x00\x00\x02\x01\x00\x02\x01\x00", false},
		{"two custom sections", "\x00asm\x01\x00\x00\x00\x00\x02\x01a\x00\x02\x01b" + table, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := boundTables([]byte(tt.bin))
			if (err == nil) != tt.ok {
				t.Errorf("error %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// FuzzBoundTables reads arbitrary bytes as a module: an error, problems or
// a module whose tables are bounded, never a panic.
func FuzzBoundTables(f *testing.F) {
	for _, name := range []string{"echo", "tablebig", "tablegrow", "badimport"} {
		if bin, err := os.ReadFile(filepath.Join("testdata", name+".wasm")); err == nil {
			f.Add(bin)
		}
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x04\x05\x01\x70\x05\xff\xff"))
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, n, problems, err := boundTables(bin)
		if err != nil || len(problems) > 0 {
			return
		}
		if n > 1<<40 {
			t.Fatalf("%d bytes of tables", n)
		}
		if again, n2, p2, err := boundTables(out); err != nil || len(p2) > 0 || !bytes.Equal(again, out) || n2 != n {
			t.Fatalf("the bounded module is not stable: %v %q", err, p2)
		}
	})
}
