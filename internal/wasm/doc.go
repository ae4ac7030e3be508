// Package wasm runs extractors compiled to WebAssembly in a sandbox: a
// wazero runtime with its optimizing compiler and a compilation cache, one
// compiled Module per guest, many Instances of each.
//
// A guest follows the riptide guest ABI, specified in docs/wasm-abi.md: it
// exports its memory, an allocator, riptide_abi_version, riptide_modes,
// riptide_extract, riptide_health and riptide_reset, and imports nothing but
// wasi_snapshot_preview1. Runtime.Load refuses a module that does not follow
// it with an *ABIError.
//
// An Instance has its own linear memory, capped; no files, no network, no
// environment but GOMEMLIMIT and GOGC; real clocks and a cryptographic random
// source. Every call runs under a deadline, and stops there: as it loads, a
// module's code is rewritten to check for interruption itself (package
// interrupt), which also lets Go's collector preempt a guest that runs long;
// a module the rewriting cannot read runs with wazero's slower checks. A
// call that traps, runs out of memory, overruns its deadline or returns a
// malformed result leaves its instance unusable, never the process: the
// caller closes it and makes another.
package wasm

//go:generate sh -c "cd testdata && for f in *.wat; do wat2wasm $DOLLAR{f} -o $DOLLAR{f%.wat}.wasm; done"
