package wasm_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// FuzzResultBoundary drives the echo module, which returns as its result
// either the document (when it starts with "{") or the pointer and length
// packed in the document's first 8 bytes. Whatever the guest returns, the
// host must answer with a valid result or one of the documented errors, and
// never panic.
func FuzzResultBoundary(f *testing.F) {
	// The host's request buffer is echo's first allocation, at 1024: the
	// request options, then the document.
	const buf = 1024
	for _, seed := range []struct {
		packed uint64
		body   string
	}{
		{0, `{"ok":{"title":"x"}}`},
		{0, `{"error":{"code":"INVALID_ARGUMENT","message":"m"}}`},
		{0, `{"ok":`},
		{0xffff0000_00001000, ""},          // past the end of memory
		{0x0000fff0_00000100, ""},          // straddles the end
		{0xffffffff_ffffffff, ""},          // everything
		{0, ""},                            // empty
		{16<<32 | 8, ""},                   // the modes array: JSON, not an envelope
		{buf<<32 | 2, ""},                  // the start of the options: `{"`
		{buf<<32 | 64, `{"ok":{}}` + "  "}, // options and document together
	} {
		f.Add(seed.packed, []byte(seed.body))
	}
	rt := newRuntime(f, wasm.RuntimeConfig{InstanceMemoryLimitMB: 2, MaxResultBytes: 1 << 16})
	m := load(f, rt, "echo", wasm.ModuleOptions{})
	ctx := context.Background()
	var inst *wasm.Instance
	f.Cleanup(func() {
		if inst != nil {
			inst.Close()
		}
	})
	f.Fuzz(func(t *testing.T, packed uint64, body []byte) {
		if inst == nil {
			var err error
			if inst, err = m.NewInstance(ctx); err != nil {
				t.Fatal(err)
			}
		}
		doc := body
		if len(body) == 0 || body[0] != '{' {
			doc = binary.LittleEndian.AppendUint64(nil, packed)
			doc = append(doc, body...)
		}
		got, err := inst.Extract(ctx, wasm.Request{HTML: string(doc), Mode: "test"})
		var (
			abi   *wasm.ABIError
			guest *wasm.GuestError
		)
		switch {
		case err == nil:
			// What the client's runtime will check: it marshals, and
			// it reads back.
			b, err := proto.Marshal(got)
			if err != nil {
				t.Fatalf("result %s does not marshal: %v", asJSON(got), err)
			}
			if err := proto.Unmarshal(b, new(structpb.Struct)); err != nil {
				t.Fatalf("result %s does not unmarshal: %v", asJSON(got), err)
			}
		case errors.As(err, &abi):
			if inst.IsHealthy(ctx) {
				t.Fatalf("healthy after %v", err)
			}
			inst.Close()
			inst = nil
		case errors.As(err, &guest), errors.Is(err, wasm.ErrResultTooLarge), errors.Is(err, wasm.ErrRequestTooLarge):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
