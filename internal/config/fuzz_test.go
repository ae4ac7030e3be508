package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad sets one variable to an arbitrary value. Load must not panic;
// when it succeeds the Config must be valid, and when it fails the message
// must name the variable.
func FuzzLoad(f *testing.F) {
	vars := Vars()
	for i, v := range vars {
		f.Add(uint8(i), v.Default)
		f.Add(uint8(i), "")
	}
	for _, s := range []string{"abc", "10x", "-1", "99999999999999999999", "NaN", "1e400", "0x10", "\x00", "unix://", "[::1]:", " 7 ", "a\nb\n", "(", "TRUE"} {
		f.Add(uint8(0), s)
		f.Add(uint8(8), s)
		f.Add(uint8(15), s)
	}
	f.Fuzz(func(t *testing.T, i uint8, value string) {
		v := vars[int(i)%len(vars)]
		if v.typ == "path" && value != "" && !strings.HasPrefix(value, "/nonexistent/") {
			// Keep the file system out of it: a fuzzer may name any file.
			value = filepath.Join("/nonexistent", value)
		}
		c, err := Load(nil, []string{v.Name + "=" + value})
		if err != nil {
			if !strings.Contains(err.Error(), v.Name) {
				t.Fatalf("%s=%q: error does not name the variable: %v", v.Name, value, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%s=%q: Load accepted a Config that Validate refuses: %v", v.Name, value, err)
		}
	})
}

// FuzzLoadFile loads an arbitrary config file: Load must not panic, and a
// Config it returns must be valid.
func FuzzLoadFile(f *testing.F) {
	for _, s := range []string{
		"", "wasm_pool_size: 3\n", "wasm_pool_size: abc\n", "warm_selectors: [a, b]\n",
		"x: {y: [1, 2]}\n", "- a\n", "log_level: ~\n", "a: &a [*a]\n", "wasm_pool_size: !!binary aGk=\n",
		"memory_pressure_threshold: .nan\n", "cb_timeout_ms: 1e3\n", "grpc_addr: 2001-12-14\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load([]string{"--config", p}, nil)
		if err != nil {
			if errors.Is(err, ErrHelp) {
				t.Fatal("ErrHelp from a config file")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load accepted a Config that Validate refuses: %v", err)
		}
	})
}
