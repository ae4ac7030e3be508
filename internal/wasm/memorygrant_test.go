package wasm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// memoryGrants is a MemoryGrant that lets an instance's memory figure
// grow up to allowance bytes (0: no limit) and records the figures it was
// asked for.
type memoryGrants struct {
	allowance uint64
	asked     []uint64
	granted   uint64 // the last figure granted
}

func (g *memoryGrants) grant(figure uint64) error {
	g.asked = append(g.asked, figure)
	if g.allowance > 0 && figure > g.allowance {
		return errNoRoom
	}
	g.granted = figure
	return nil
}

// TestMemoryGrant runs calls whose linear memory grows, on instances with
// a MemoryGrant: every grow asks it first, with the figure the instance
// would have; a grow it refuses fails as memory.grow, and a call that then
// fails ends with ErrMemoryRefused wrapping the grant's reason (not the
// module's ErrOutOfMemory, nor, on a large document, the document's
// fault), and leaves its instance unusable. Growth past the instance cap
// is still the module's running out of memory, whatever the grant says.
func TestMemoryGrant(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{InstanceMemoryLimitMB: 16, ExtractTimeout: 20 * time.Second})
	tests := []struct {
		name      string
		module    string
		doc       string
		allowance uint64 // of the instance's memory figure; 0: no limit
		want      error  // nil: the call succeeds
	}{
		{"growth granted", "echo", `{"ok":{}}` + strings.Repeat(" ", 200<<10), 0, nil},
		{"growth refused", "echo", `{"ok":{}}` + strings.Repeat(" ", 1<<20), 1, wasm.ErrMemoryRefused},
		{"a guest that grows until refused", "bomb", "x", 4 << 20, wasm.ErrMemoryRefused},
		{"a guest that grows to the cap", "bomb", "x", 0, wasm.ErrOutOfMemory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			inst := newInstance(t, load(t, rt, tt.module, wasm.ModuleOptions{}))
			g := &memoryGrants{allowance: tt.allowance}
			inst.SetMemoryGrant(g.grant)
			before := inst.MemoryBytes()
			_, err := inst.Extract(ctx, wasm.Request{HTML: tt.doc})
			switch {
			case tt.want == nil && err != nil, !errors.Is(err, tt.want):
				t.Fatalf("Extract: %v, want %v", err, tt.want)
			case errors.Is(err, wasm.ErrMemoryRefused) &&
				(!errors.Is(err, errNoRoom) || errors.Is(err, wasm.ErrOutOfMemory) || errors.Is(err, wasm.ErrDocumentOutOfMemory) || errors.Is(err, wasm.ErrTrap)):
				t.Errorf("Extract: %v, want the grant's refusal alone", err)
			}
			if len(g.asked) == 0 {
				t.Fatal("the grant was never asked")
			}
			// Each grow asks for the figure it would give, in whole
			// pages past the figure before it, and the instance has
			// the last one granted.
			last := before
			for k, fig := range g.asked {
				if fig <= last || (fig-last)%(64<<10) != 0 {
					t.Fatalf("grant asked for %d after %d (ask %d of %v)", fig, last, k, g.asked)
				}
				last = fig
			}
			if got, want := inst.MemoryBytes(), max(g.granted, before); got != want {
				t.Errorf("instance figure %d, want the last granted, %d", got, want)
			}
			if errors.Is(tt.want, wasm.ErrOutOfMemory) && inst.LinearMemoryBytes() != rt.MemoryLimitBytes() {
				t.Errorf("the guest stopped at %d bytes of linear memory, short of the cap of %d", inst.LinearMemoryBytes(), rt.MemoryLimitBytes())
			}
			_, err = inst.Extract(ctx, wasm.Request{HTML: `{"ok":{}}`})
			if unusable := errors.Is(err, wasm.ErrUnusable); unusable != (tt.want != nil) {
				t.Errorf("a call after the first: %v, want it unusable only after a failure", err)
			}
		})
	}
}

// TestMemoryGrantAtCreation makes instances with a MemoryGrant in the
// context of NewInstance: the guest's initialization asks it (here, the
// bundled article module's Go runtime, which grows its heap as it
// starts), and a refusal fails the creation with ErrMemoryRefused, not a
// failure of the module's; the grant stays the instance's afterwards.
func TestMemoryGrantAtCreation(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 60 * time.Second})
	mod := loadArticle(t, rt, false)
	spare := newInstance(t, mod) // the probe's, made without a grant
	fresh := spare.MemoryBytes()

	g := &memoryGrants{}
	inst, err := mod.NewInstance(wasm.WithMemoryGrant(context.Background(), g.grant))
	if err != nil {
		t.Fatalf("NewInstance with room: %v", err)
	}
	defer inst.Close()
	if len(g.asked) == 0 || g.asked[len(g.asked)-1] != inst.MemoryBytes() {
		t.Errorf("the creation asked for %v, want up to the new instance's figure %d", g.asked, inst.MemoryBytes())
	}

	g = &memoryGrants{allowance: fresh / 2}
	_, err = mod.NewInstance(wasm.WithMemoryGrant(context.Background(), g.grant))
	if !errors.Is(err, wasm.ErrMemoryRefused) || !errors.Is(err, errNoRoom) || errors.Is(err, wasm.ErrTrap) || errors.Is(err, wasm.ErrOutOfMemory) {
		t.Errorf("NewInstance without room: %v, want ErrMemoryRefused for the grant's reason", err)
	}
}
