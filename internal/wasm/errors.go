package wasm

import (
	"errors"
	"fmt"
)

// Errors of a guest call. They are returned wrapped with the module name and
// detail, so test for them with errors.Is. After any of the first four the
// instance is unusable: IsHealthy reports false and the caller must Close it
// and make another.
var (
	// ErrTimeout reports a call interrupted at its deadline (the caller's or
	// RuntimeConfig.ExtractTimeout). The error also matches
	// context.DeadlineExceeded.
	ErrTimeout = errors.New("wasm: extraction timed out")
	// ErrCanceled reports a call interrupted because the caller's context
	// was canceled. The error also matches context.Canceled.
	ErrCanceled = errors.New("wasm: extraction canceled")
	// ErrTrap reports a guest that trapped (unreachable, out-of-bounds
	// access, stack overflow, a Go panic that reached the runtime) or
	// exited through WASI proc_exit.
	ErrTrap = errors.New("wasm: guest trapped")
	// ErrStackLimit reports a guest call whose stack reached
	// RuntimeConfig.MaxStackKB; it comes wrapped with ErrTrap, which it
	// is a kind of.
	ErrStackLimit = errors.New("wasm: stack limit reached")
	// ErrStackRefused reports a guest call stopped before its stack
	// reached RuntimeConfig.MaxStackKB because the StackGrant of its
	// context gave it no more (a memory budget with no room for it); it
	// wraps the StackGrant's reason. It is not a trap of the module's:
	// the host stopped it, as for a deadline. The instance is unusable.
	ErrStackRefused = errors.New("wasm: no room for the call's stack")
	// ErrMemoryRefused reports a guest call that failed after the
	// MemoryGrant of its instance refused its linear memory's growth (a
	// memory budget with no room for it), below
	// RuntimeConfig.InstanceMemoryLimitMB; it wraps the MemoryGrant's
	// reason. As for ErrStackRefused, the host stopped it, not the
	// module's own fault. The instance is unusable.
	ErrMemoryRefused = errors.New("wasm: no room for the instance's memory to grow")
	// ErrOutOfMemory reports a guest that failed after its linear memory
	// reached RuntimeConfig.InstanceMemoryLimitMB.
	ErrOutOfMemory = errors.New("wasm: guest out of memory")
	// ErrUnhealthy reports an instance whose riptide_health answered
	// anything but 0: the module asks for it to be replaced.
	ErrUnhealthy = errors.New("wasm: guest unhealthy")

	// ErrResultTooLarge reports a result over RuntimeConfig.MaxResultBytes.
	// The instance stays usable.
	ErrResultTooLarge = errors.New("wasm: result too large")
	// ErrRequestTooLarge reports a document over the module's document
	// limit (Module.DocumentLimit), refused before the guest saw it, or
	// one too large for the instance's memory. The instance stays usable.
	ErrRequestTooLarge = errors.New("wasm: request too large")
	// ErrDocumentOutOfMemory reports a guest that ran out of memory on a
	// document of at least Module.BlameDocumentBytes: the document's size
	// is taken to be the cause, not the module. The instance is unusable,
	// like after ErrOutOfMemory, which this error does not match.
	ErrDocumentOutOfMemory = errors.New("wasm: the document needs more memory than an instance has")
	// ErrDocumentUnparsable reports a document the host's HTML parser
	// refuses (more than 512 elements open at once), which the native
	// pools refuse too. The guest was not called.
	ErrDocumentUnparsable = errors.New("wasm: document nested too deeply")
	// ErrUnusable reports a call on an instance that was closed or broken
	// by an earlier failure.
	ErrUnusable = errors.New("wasm: instance unusable")
	// ErrBusy reports a call on an instance that is already running one:
	// an Instance serves one caller at a time.
	ErrBusy = errors.New("wasm: instance busy")
	// ErrClosed reports use of a Runtime or Module after Close.
	ErrClosed = errors.New("wasm: closed")
)

// Codes a guest may put in the error envelope (see docs/wasm-abi.md). Other
// codes are passed through as they are.
const (
	// CodeInvalidArgument is the caller's fault: an unknown mode, a bad
	// selector, an unusable document. Answer it as INVALID_ARGUMENT.
	CodeInvalidArgument = "INVALID_ARGUMENT"
	// CodeInternal is the extractor's fault on this document.
	CodeInternal = "INTERNAL"
)

// GuestError is an error the guest reported through the result envelope. The
// guest handled it: the instance stays usable.
type GuestError struct {
	Module  string
	Code    string // CodeInvalidArgument, CodeInternal or a guest-defined code
	Message string
}

func (e *GuestError) Error() string {
	return fmt.Sprintf("wasm: module %q: %s: %s", e.Module, e.Code, e.Message)
}

// InvalidArgument reports whether the guest blamed the request.
func (e *GuestError) InvalidArgument() bool { return e.Code == CodeInvalidArgument }

// ABIError reports a module that does not follow the guest ABI: at Load, a
// missing or mistyped export, a wrong version, an unsupported import; at a
// call, a malformed result (a pointer or length outside linear memory, a
// result that is not the JSON envelope). After an ABIError from a call the
// instance is unusable.
type ABIError struct {
	Module string
	Reason string
}

func (e *ABIError) Error() string {
	return fmt.Sprintf("wasm: module %q does not follow the riptide guest ABI v%d: %s", e.Module, ABIVersion, e.Reason)
}
