package wasm

// DecodeEnvelope is decodeEnvelope, for the benchmarks of package wasm_test.
var DecodeEnvelope = decodeEnvelope

// The baselines of the interruption benchmarks: a module run as trusted
// modules were before package interrupt (no interruption at all: its calls
// cannot be stopped), and one run with wazero's checks at every loop header,
// as untrusted modules were.
func Uninterrupted(o ModuleOptions) ModuleOptions { o.interruption = interruptNone; return o }
func WazeroChecked(o ModuleOptions) ModuleOptions { o.interruption = interruptChecked; return o }

// LogBurst is how many lines about one module's failures the host writes
// per window.
const LogBurst = logBurst
