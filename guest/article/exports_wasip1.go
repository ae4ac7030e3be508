package main

import "unsafe"

// The guest ABI v1 (docs/wasm-abi.md). The exported functions run on the one
// wasm thread, one at a time: the shim needs no locking.

var guest = newShim()

//go:wasmexport riptide_abi_version
func riptideABIVersion() uint32 { return abiVersion }

//go:wasmexport riptide_alloc
func riptideAlloc(size uint32) uint32 {
	return uint32(addr(guest.alloc(size)))
}

//go:wasmexport riptide_free
func riptideFree(ptr unsafe.Pointer, size uint32) {
	guest.free(uintptr(ptr))
}

//go:wasmexport riptide_modes
func riptideModes() uint64 {
	return pack(guest.modes)
}

//go:wasmexport riptide_extract
func riptideExtract(reqPtr unsafe.Pointer, reqLen uint32, docPtr unsafe.Pointer, docLen uint32) uint64 {
	opts := unsafe.Slice((*byte)(reqPtr), reqLen)
	// The document is read in place, not copied: the host does not touch
	// its buffer during the call, and the extractor keeps nothing of it.
	page := unsafe.String((*byte)(docPtr), docLen)
	return pack(guest.handle(opts, page))
}

//go:wasmexport riptide_extract_tree
func riptideExtractTree(reqPtr unsafe.Pointer, reqLen uint32, treePtr unsafe.Pointer, treeLen uint32) uint64 {
	opts := unsafe.Slice((*byte)(reqPtr), reqLen)
	// Read in place too: the decoder copies what the tree keeps.
	tree := unsafe.Slice((*byte)(treePtr), treeLen)
	return pack(guest.handleTree(opts, tree))
}

//go:wasmexport riptide_health
func riptideHealth() uint32 { return 0 }

//go:wasmexport riptide_reset
func riptideReset() { guest.reset() }

// pack returns b's address and length as the ABI's u64.
func pack(b []byte) uint64 {
	return uint64(addr(b))<<32 | uint64(len(b))
}
