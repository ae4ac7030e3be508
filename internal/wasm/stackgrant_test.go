package wasm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// errNoRoom is the reason the tests' StackGrant gives for granting less
// than it was asked.
var errNoRoom = errors.New("no room left in the test's allowance")

// grants is a StackGrant over an allowance of bytes (0: no limit) that
// records what it was asked.
type grants struct {
	allowance uint64
	asked     []uint64
	granted   uint64
}

func (g *grants) grant(_ context.Context, want uint64) (uint64, error) {
	g.asked = append(g.asked, want)
	if g.allowance == 0 {
		g.granted += want
		return want, nil
	}
	n := min(want, g.allowance-g.granted)
	g.granted += n
	if n < want {
		return n, errNoRoom
	}
	return n, nil
}

// TestStackGrant recurses as deep as the document is long, with a
// StackGrant in the call's context: a call within the first 2 MiB of the
// bound never asks it; a deeper one asks it for as much as the call has
// each time it spends what it has (2, 4, 8, 16 MiB: the stack doubles);
// one that goes deeper than the grant allows stops at its last grant,
// with ErrStackRefused wrapping the grant's reason, not a trap of the
// module's, and leaves its instance unusable; one past the bound asks for
// the whole bound and still fails with ErrStackLimit.
func TestStackGrant(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 20 * time.Second})
	mod := load(t, rt, "deep", wasm.ModuleOptions{})
	limit := rt.StackLimitBytes()
	tests := []struct {
		name      string
		depth     int
		allowance uint64
		asked     []uint64 // in MiB
		want      error    // nil: the call succeeds
	}{
		{"shallow", 5000, 0, nil, nil},
		{"deep", 50000, 0, []uint64{2, 4, 8, 16}, nil},
		{"deep, within the grant", 50000, 30 << 20, []uint64{2, 4, 8, 16}, nil},
		{"deeper than the grant", 50000, 6 << 20, []uint64{2, 4, 8}, wasm.ErrStackRefused},
		{"a byte granted", 50000, 1, []uint64{2}, wasm.ErrStackRefused},
		{"past the bound", 300000, 0, []uint64{2, 4, 8, 16, 32}, wasm.ErrStackLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := newInstance(t, mod)
			g := &grants{allowance: tt.allowance}
			ctx := wasm.WithStackGrant(context.Background(), g.grant)
			_, err := i.Extract(ctx, wasm.Request{HTML: strings.Repeat("x", tt.depth)})
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Extract %d deep: %v, want %v", tt.depth, err, tt.want)
			}
			var asked []uint64
			for _, n := range g.asked {
				asked = append(asked, n>>20)
			}
			if !slices.Equal(asked, tt.asked) {
				t.Errorf("the grant was asked for %v MiB, want %v", asked, tt.asked)
			}
			if g.granted > limit {
				t.Errorf("%d bytes granted, over the bound of %d", g.granted, limit)
			}
			if tt.want == wasm.ErrStackRefused {
				if !errors.Is(err, errNoRoom) || errors.Is(err, wasm.ErrTrap) || !strings.Contains(err.Error(), "WASM_MAX_STACK_KB") {
					t.Errorf("Extract error %q: want the grant's reason, not a trap, and the bound named", err)
				}
				if _, err := i.Extract(ctx, wasm.Request{HTML: "x"}); !errors.Is(err, wasm.ErrUnusable) {
					t.Errorf("a call after the refused one: %v, want ErrUnusable", err)
				}
			}
		})
	}
}

// TestArticleStackGrants measures what the bundled article module asks of
// a StackGrant: its initialization, once per instance, and each page of
// the readability corpus. Past the first 2 MiB of the bound, a call's
// stack is charged to its module's memory share (wasmpool), so what the
// module asks there is memory a budget must have room for; it must stay
// far below the bound, or a share under pressure would fail well-behaved
// calls.
func TestArticleStackGrants(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: the corpus through the sandbox")
	}
	pages := testenv.CorpusPages(t)
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: time.Minute})
	mod := loadArticle(t, rt, false)
	init := &grants{}
	i, err := mod.NewInstance(wasm.WithStackGrant(context.Background(), init.grant)) // the probe's spare: no call
	if err != nil {
		t.Fatal(err)
	}
	i.Close()
	if i, err = mod.NewInstance(wasm.WithStackGrant(context.Background(), init.grant)); err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	t.Logf("initialization: asked %v bytes, granted %d", init.asked, init.granted)
	const most = wasm.DefaultMaxStackKB << 10 / 4
	if init.granted > most {
		t.Errorf("the module's initialization was granted %d bytes of stack, want at most %d", init.granted, most)
	}
	var deepest uint64
	deep := 0
	for _, p := range pages {
		g := &grants{}
		if _, err := i.Extract(wasm.WithStackGrant(context.Background(), g.grant), wasm.Request{HTML: p.Source, URL: "https://example.com/", Mode: article.ModeArticle}); err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		if g.granted > 0 {
			deep++
		}
		deepest = max(deepest, g.granted)
		if g.granted > most {
			t.Errorf("%s: granted %d bytes of stack, want at most %d", p.Name, g.granted, most)
		}
	}
	t.Logf("%d corpus pages: %d went past the first part, the most granted to one %d bytes", len(pages), deep, deepest)
}
