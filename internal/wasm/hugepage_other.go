//go:build unix && !linux

package wasm

// adviseHugePages does nothing outside Linux.
func adviseHugePages([]byte) {}
