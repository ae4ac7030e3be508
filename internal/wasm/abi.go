package wasm

import (
	"encoding/json"
	"fmt"
	"github.com/riptidecrawler/riptide-poold/internal/wasm/interrupt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ABIVersion is the version of the guest ABI this host speaks, the value a
// module's riptide_abi_version export must return. docs/wasm-abi.md is the
// specification.
const ABIVersion = 1

// Names of the guest's exports.
const (
	exportMemory     = "memory"
	exportInitialize = "_initialize"
	exportVersion    = "riptide_abi_version"
	exportAlloc      = "riptide_alloc"
	exportFree       = "riptide_free"
	exportModes      = "riptide_modes"
	exportExtract    = "riptide_extract"
	// exportExtractTree is optional: a module that exports it is handed
	// documents parsed by the host (package htmltree) instead of HTML.
	exportExtractTree = "riptide_extract_tree"
	exportHealth      = "riptide_health"
	exportReset       = "riptide_reset"
)

// wasiModule is the only module a guest may import from.
const wasiModule = "wasi_snapshot_preview1"

// Limits on what a guest may advertise.
const (
	maxModes       = 64
	maxModeNameLen = 64
)

type signature struct {
	params, results []api.ValueType
}

func (s signature) String() string {
	name := func(ts []api.ValueType) string {
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = api.ValueTypeName(t)
		}
		return strings.Join(names, ", ")
	}
	switch len(s.results) {
	case 0:
		return "func(" + name(s.params) + ")"
	case 1:
		return "func(" + name(s.params) + ") " + name(s.results)
	}
	return "func(" + name(s.params) + ") (" + name(s.results) + ")"
}

func (s signature) matches(def api.FunctionDefinition) bool {
	return slices.Equal(def.ParamTypes(), s.params) && slices.Equal(def.ResultTypes(), s.results)
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// requiredExports are the functions of ABI v1, in the order they are
// reported when missing. riptide_abi_version is checked on its own first, so
// that a module of another version is told so rather than being listed its
// differences.
var requiredExports = []struct {
	name string
	sig  signature
}{
	{exportAlloc, signature{[]api.ValueType{i32}, []api.ValueType{i32}}},
	{exportFree, signature{[]api.ValueType{i32, i32}, nil}},
	{exportModes, signature{nil, []api.ValueType{i64}}},
	{exportExtract, extractSig},
	{exportHealth, signature{nil, []api.ValueType{i32}}},
	{exportReset, signature{nil, nil}},
}

var (
	extractSig    = signature{[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}}
	versionSig    = signature{nil, []api.ValueType{i32}}
	initializeSig = signature{nil, nil}
)

// checkVersionExport checks what must hold before the module can be
// instantiated to ask its version: the version export, and imports the host
// can satisfy. An instrumented module imports the interruption check too
// (package interrupt refuses a module that imports it itself).
func checkVersionExport(c wazero.CompiledModule, memoryLimit uint64, instrumented bool) []string {
	var problems []string
	fns := c.ExportedFunctions()
	if def, ok := fns[exportVersion]; !ok {
		problems = append(problems, fmt.Sprintf("missing export %q (%v), the ABI version marker", exportVersion, versionSig))
	} else if !versionSig.matches(def) {
		problems = append(problems, fmt.Sprintf("export %q is %v, want %v", exportVersion, signatureOf(def), versionSig))
	}
	if def, ok := fns[exportInitialize]; ok && !initializeSig.matches(def) {
		problems = append(problems, fmt.Sprintf("export %q is %v, want %v", exportInitialize, signatureOf(def), initializeSig))
	}
	for _, def := range c.ImportedFunctions() {
		mod, name, _ := def.Import()
		if instrumented && mod == interrupt.HostModule && (name == interrupt.HostFunction || name == interrupt.StackFunction) {
			continue
		}
		if mod != wasiModule {
			problems = append(problems, fmt.Sprintf("imports %s.%s: only %s is provided", mod, name, wasiModule))
		}
	}
	if len(c.ImportedMemories()) > 0 {
		problems = append(problems, "imports a memory: a module must define and export its own")
	}
	for _, def := range c.ExportedMemories() {
		if minBytes := uint64(def.Min()) * pageSize; minBytes > memoryLimit {
			problems = append(problems, fmt.Sprintf("initial memory of %d MiB is over the instance limit of %d MiB", minBytes>>20, memoryLimit>>20))
		}
	}
	return problems
}

// checkExports checks the rest of the exports of ABI v1.
func checkExports(c wazero.CompiledModule) []string {
	var problems []string
	if _, ok := c.ExportedMemories()[exportMemory]; !ok {
		problems = append(problems, fmt.Sprintf("missing export %q (its linear memory)", exportMemory))
	}
	fns := c.ExportedFunctions()
	for _, want := range requiredExports {
		def, ok := fns[want.name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("missing export %q (%v)", want.name, want.sig))
		case !want.sig.matches(def):
			problems = append(problems, fmt.Sprintf("export %q is %v, want %v", want.name, signatureOf(def), want.sig))
		}
	}
	if def, ok := fns[exportExtractTree]; ok && !extractSig.matches(def) {
		problems = append(problems, fmt.Sprintf("export %q is %v, want %v", exportExtractTree, signatureOf(def), extractSig))
	}
	return problems
}

func signatureOf(def api.FunctionDefinition) signature {
	return signature{def.ParamTypes(), def.ResultTypes()}
}

// parseModes validates the JSON array riptide_modes returns.
func parseModes(b []byte) ([]string, error) {
	var modes []string
	if err := json.Unmarshal(b, &modes); err != nil {
		return nil, fmt.Errorf("%s did not return a JSON array of strings: %v", exportModes, err)
	}
	if len(modes) == 0 || len(modes) > maxModes {
		return nil, fmt.Errorf("%s returned %d modes, want 1 to %d", exportModes, len(modes), maxModes)
	}
	seen := make(map[string]bool, len(modes))
	for _, m := range modes {
		if m == "" || len(m) > maxModeNameLen || strings.ContainsFunc(m, isNotModeRune) {
			return nil, fmt.Errorf("%s returned the mode name %q: want 1 to %d of [a-z0-9_-]", exportModes, m, maxModeNameLen)
		}
		if seen[m] {
			return nil, fmt.Errorf("%s returned the mode %q twice", exportModes, m)
		}
		seen[m] = true
	}
	return modes, nil
}

func isNotModeRune(r rune) bool {
	return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_' || r == '-')
}

// unpack splits the u64 a guest returns for a buffer into pointer and length.
func unpack(v uint64) (ptr, length uint32) {
	return uint32(v >> 32), uint32(v)
}

// requestOptions is the JSON request a guest receives next to the document.
type requestOptions struct {
	URL       string   `json:"url"`
	Mode      string   `json:"mode"`
	Selectors []string `json:"selectors"`
}
