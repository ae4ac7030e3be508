package wasm

import (
	"errors"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/wasm/interrupt"
)

// TestUnpanicked: a panic of the interruption pass is an error that makes
// the module one the pass cannot read, not the end of the daemon; what the
// pass returns otherwise goes through unchanged.
func TestUnpanicked(t *testing.T) {
	sentinel := errors.New("refused")
	tests := []struct {
		name    string
		f       func() ([]byte, error)
		out     string
		err     error  // errors.Is target; nil for none
		message string // in the error
	}{
		{"returns", func() ([]byte, error) { return []byte("code"), nil }, "code", nil, ""},
		{"errs", func() ([]byte, error) { return nil, sentinel }, "", sentinel, "refused"},
		{"panics", func() ([]byte, error) { panic("index out of range [14] with length 14") }, "", interrupt.ErrUnsupported, "index out of range"},
		{"panics with an error", func() ([]byte, error) { panic(errors.New("boom")) }, "", interrupt.ErrUnsupported, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := unpanicked(tt.f)
			if string(out) != tt.out {
				t.Errorf("out %q, want %q", out, tt.out)
			}
			switch {
			case tt.err == nil && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.err != nil && !errors.Is(err, tt.err):
				t.Errorf("error %v, want one that is %v", err, tt.err)
			case tt.err != nil && !strings.Contains(err.Error(), tt.message):
				t.Errorf("error %q, want it to say %q", err, tt.message)
			}
		})
	}
}
