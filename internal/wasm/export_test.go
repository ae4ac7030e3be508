package wasm

// DecodeEnvelope is decodeEnvelope, for the benchmarks of package wasm_test.
var DecodeEnvelope = decodeEnvelope
