//go:build !linux

package wasm

import "os"

// mapFile reads the file at path: its pages are not mapped up front outside
// Linux, and reading them avoids the faults of a truncated mapping.
func mapFile(path string) (b []byte, unmap func(), err error) {
	b, err = os.ReadFile(path)
	return b, func() {}, err
}
