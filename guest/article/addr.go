package main

import "unsafe"

// addr is the address of b's first byte: on wasm, its offset in linear
// memory.
func addr(b []byte) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}
