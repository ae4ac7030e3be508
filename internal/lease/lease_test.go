package lease

import (
	"context"
	"encoding/base64"
	"errors"
	"github.com/riptidecrawler/riptide-poold/internal/histogram"
	"regexp"
	"sync"
	"testing"
	"time"
)

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
		reap    time.Duration
		max     time.Duration
	}{
		{"no default ttl", Config{}, true, 0, 0},
		{"negative default ttl", Config{DefaultTTL: -time.Second}, true, 0, 0},
		{"max below default", Config{DefaultTTL: time.Minute, MaxTTL: time.Second}, true, 0, 0},
		{"negative reap interval", Config{DefaultTTL: time.Minute, ReapInterval: -1}, true, 0, 0},
		{"defaults, long ttl", Config{DefaultTTL: time.Minute}, false, time.Second, time.Minute},
		{"defaults, short ttl", Config{DefaultTTL: 2 * time.Second, MaxTTL: time.Hour}, false, 500 * time.Millisecond, time.Hour},
		{"explicit reap interval", Config{DefaultTTL: time.Minute, ReapInterval: 5 * time.Second}, false, 5 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Clock = newFakeClock()
			tbl, err := New(tt.cfg)
			if tt.wantErr {
				if err == nil {
					tbl.Close(context.Background())
					t.Fatal("New accepted an invalid config")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Close(context.Background())
			if tbl.reapInterval != tt.reap || tbl.maxTTL != tt.max {
				t.Errorf("reap interval %v, max ttl %v; want %v, %v", tbl.reapInterval, tbl.maxTTL, tt.reap, tt.max)
			}
		})
	}
}

func TestTTL(t *testing.T) {
	const def, max = 10 * time.Second, time.Minute
	tests := []struct {
		name string
		ttl  time.Duration
		want time.Duration // 0: a *TTLError
	}{
		{"zero is the default", 0, def},
		{"explicit", 3 * time.Second, 3 * time.Second},
		{"the maximum", max, max},
		{"above the maximum", max + time.Millisecond, 0},
		{"negative", -time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			tbl, _ := newTable(t, clk, Config{DefaultTTL: def, MaxTTL: max})
			check := func(op string, l Lease, err error) {
				t.Helper()
				if tt.want == 0 {
					var te *TTLError
					if !errors.As(err, &te) || te.TTL != tt.ttl || te.Max != max {
						t.Fatalf("%s: got %v, want a TTLError{%v, %v}", op, err, tt.ttl, max)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", op, err)
				}
				if got := l.ExpiresAt.Sub(clk.Now()); got != tt.want {
					t.Errorf("%s: expires in %v, want %v", op, got, tt.want)
				}
			}

			h := newHeld()
			l, err := tbl.Add("css", "inst-1", h, tt.ttl)
			check("Add", l, err)
			if tt.want == 0 {
				if h.ends() != 0 || tbl.ActiveByPool("css") != 0 {
					t.Error("a refused Add kept or ended the instance")
				}
				return
			}

			clk.Advance(time.Second)
			l, err = tbl.Renew(l.ID, tt.ttl)
			check("Renew", l, err)
		})
	}

	// A refused Renew leaves the lease as it was.
	clk := newFakeClock()
	tbl, _ := newTable(t, clk, Config{DefaultTTL: def, MaxTTL: max})
	l := mustAdd(t, tbl, "css", newHeld(), 0)
	var te *TTLError
	if _, err := tbl.Renew(l.ID, 2*max); !errors.As(err, &te) {
		t.Fatalf("Renew above the maximum: %v", err)
	}
	if got, _ := tbl.Get(l.ID); got != l {
		t.Errorf("after a refused Renew the lease is %+v, want %+v", got, l)
	}
}

func TestLifecycle(t *testing.T) {
	for _, discard := range []bool{false, true} {
		name := "release"
		if discard {
			name = "discard"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clk := newFakeClock()
			tbl, expired := newTable(t, clk, Config{})
			h := newHeld()
			l, err := tbl.Add("css", "css-7", h, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if l.Pool != "css" || l.InstanceID != "css-7" || !l.Created.Equal(clk.Now()) {
				t.Errorf("Add returned %+v", l)
			}
			if got, err := tbl.Get(l.ID); err != nil || got != l {
				t.Errorf("Get = %+v, %v; want %+v", got, err, l)
			}

			// Several calls, each seeing the instance and fn's error.
			errFn := errors.New("extract failed")
			for i := range 3 {
				clk.Advance(time.Second)
				var want error
				if i == 1 {
					want = errFn
				}
				if err := tbl.Use(ctx, l.ID, use(h, func() error { return want })); err != want {
					t.Errorf("Use #%d = %v, want %v", i, err, want)
				}
			}

			// Renew from now.
			r, err := tbl.Renew(l.ID, 5*time.Second)
			if err != nil || !r.ExpiresAt.Equal(clk.Now().Add(5*time.Second)) || r.Created != l.Created {
				t.Errorf("Renew = %+v, %v", r, err)
			}
			clk.Advance(4 * time.Second) // past the first expiry, not the renewed one
			if err := tbl.Use(ctx, l.ID, use(h, nil)); err != nil {
				t.Errorf("Use after Renew: %v", err)
			}
			if n := tbl.ActiveByPool("css"); n != 1 {
				t.Errorf("ActiveByPool = %d, want 1", n)
			}

			if err := tbl.Release(ctx, l.ID, discard); err != nil {
				t.Fatalf("Release: %v", err)
			}
			checkHeld(t, h)
			if discard {
				if h.discards.Load() != 1 || *h.reason.Load() != DiscardReason {
					t.Errorf("discard did not call Discard(%q)", DiscardReason)
				}
			} else if h.releases.Load() != 1 {
				t.Error("release did not call Release")
			}

			// The lease is gone for every method, for good.
			called := false
			notFound := map[string]error{
				"Release": tbl.Release(ctx, l.ID, false),
				"Use":     tbl.Use(ctx, l.ID, func(Held) error { called = true; return nil }),
			}
			_, notFound["Get"] = tbl.Get(l.ID)
			_, notFound["Renew"] = tbl.Renew(l.ID, 0)
			for op, err := range notFound {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("%s after Release = %v, want ErrNotFound", op, err)
				}
			}
			if called {
				t.Error("Use ran on a released lease")
			}
			checkHeld(t, h)

			s := tbl.Stats()
			wantR, wantD := uint64(1), uint64(0)
			if discard {
				wantR, wantD = 0, 1
			}
			if s.Created != 1 || s.Released != wantR || s.Discarded != wantD || s.Expired != 0 || s.ActiveTotal() != 0 {
				t.Errorf("Stats = %+v", s)
			}
			if s.Duration.Count != 1 || s.Duration.Sum != 7*time.Second {
				t.Errorf("duration histogram %+v, want one lease of 7s", s.Duration)
			}
			if tbl.ActiveByPool("css") != 0 || len(expired) != 0 {
				t.Error("released lease still active, or reported expired")
			}
		})
	}
}

func TestUnknownID(t *testing.T) {
	ctx := context.Background()
	tbl, _ := newTable(t, newFakeClock(), Config{})
	h := newHeld()
	l := mustAdd(t, tbl, "css", h, 0)
	for _, id := range []string{"", "x", l.ID[:21], l.ID + "A", newID(), "../../etc/passwd", "\x00\xff"} {
		called := false
		errs := map[string]error{
			"Use":     tbl.Use(ctx, id, func(Held) error { called = true; return nil }),
			"Release": tbl.Release(ctx, id, true),
		}
		_, errs["Get"] = tbl.Get(id)
		_, errs["Renew"] = tbl.Renew(id, 0)
		for op, err := range errs {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s(%q) = %v, want ErrNotFound", op, id, err)
			}
		}
		if called {
			t.Errorf("Use(%q) ran", id)
		}
	}
	if h.ends() != 0 {
		t.Error("an unknown ID ended another lease")
	}
}

func TestIDs(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	seen := make(map[string]bool, 10000)
	tbl, _ := newTable(t, newFakeClock(), Config{})
	for range 10000 {
		l := mustAdd(t, tbl, "css", newHeld(), 0)
		if !valid.MatchString(l.ID) {
			t.Fatalf("ID %q is not 22 characters of base64url", l.ID)
		}
		if b, err := base64.RawURLEncoding.DecodeString(l.ID); err != nil || len(b) != 16 {
			t.Fatalf("ID %q does not decode to 16 bytes: %v", l.ID, err)
		}
		if seen[l.ID] {
			t.Fatalf("ID %q issued twice", l.ID)
		}
		seen[l.ID] = true
	}
}

func TestUseSerialized(t *testing.T) {
	const goroutines, calls = 8, 200
	ctx := context.Background()
	tbl, _ := newTable(t, newFakeClock(), Config{})
	h := newHeld()
	l := mustAdd(t, tbl, "css", h, 0)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		n  int
	)
	for range goroutines {
		wg.Go(func() {
			for range calls {
				err := tbl.Use(ctx, l.ID, use(h, func() error {
					mu.Lock() // counts calls; Use must serialize without it
					n++
					mu.Unlock()
					time.Sleep(time.Microsecond) // widen the window an overlap needs
					return nil
				}))
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if h.overlap.Load() {
		t.Error("calls on one lease overlapped")
	}
	if n != goroutines*calls {
		t.Errorf("%d calls ran, want %d", n, goroutines*calls)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	tests := []struct {
		name string
		wait func(ctx context.Context, tbl *Table, id string) error
	}{
		{"Use", func(ctx context.Context, tbl *Table, id string) error {
			return tbl.Use(ctx, id, func(Held) error { panic("ran while another call held the lease") })
		}},
		{"Release", func(ctx context.Context, tbl *Table, id string) error {
			return tbl.Release(ctx, id, false)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, _ := newTable(t, newFakeClock(), Config{})
			h := newHeld()
			l := mustAdd(t, tbl, "css", h, 0)
			running, finish := make(chan struct{}), make(chan struct{})
			first := make(chan error)
			go func() {
				first <- tbl.Use(context.Background(), l.ID, use(h, func() error {
					close(running)
					<-finish
					return nil
				}))
			}()
			<-running

			ctx, cancel := context.WithCancel(context.Background())
			waited := make(chan error)
			go func() { waited <- tt.wait(ctx, tbl, l.ID) }()
			cancel()
			if err := <-waited; !errors.Is(err, context.Canceled) {
				t.Errorf("waiting call = %v, want context.Canceled", err)
			}
			close(finish)
			if err := <-first; err != nil {
				t.Errorf("first Use: %v", err)
			}
			if h.ends() != 0 {
				t.Error("a cancelled call ended the lease")
			}
			if err := tbl.Use(context.Background(), l.ID, use(h, nil)); err != nil {
				t.Errorf("Use after the cancelled wait: %v", err)
			}
		})
	}
}

func TestReleaseWaitsForUse(t *testing.T) {
	tbl, _ := newTable(t, newFakeClock(), Config{})
	h := newHeld()
	l := mustAdd(t, tbl, "css", h, 0)
	running, finish := make(chan struct{}), make(chan struct{})
	go tbl.Use(context.Background(), l.ID, use(h, func() error {
		close(running)
		<-finish
		return nil
	}))
	<-running
	released := make(chan error)
	go func() { released <- tbl.Release(context.Background(), l.ID, true) }()
	time.Sleep(5 * time.Millisecond) // give a wrong Release the chance to end the lease now
	if h.ends() != 0 {
		t.Fatal("Release ended the lease while a call ran on it")
	}
	close(finish)
	if err := <-released; err != nil {
		t.Fatalf("Release: %v", err)
	}
	checkHeld(t, h)
}

func TestUsePanicUnlocks(t *testing.T) {
	tbl, _ := newTable(t, newFakeClock(), Config{})
	h := newHeld()
	l := mustAdd(t, tbl, "css", h, 0)
	func() {
		defer func() { recover() }()
		tbl.Use(context.Background(), l.ID, func(Held) error { panic("boom") })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tbl.Use(ctx, l.ID, use(h, nil)); err != nil {
		t.Fatalf("Use after a panicking call: %v", err)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	tbl, err := New(Config{DefaultTTL: time.Minute, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	idle := []*fakeHeld{newHeld(), newHeld(), newHeld()}
	for _, h := range idle {
		mustAdd(t, tbl, "css", h, 0)
	}
	busy := newHeld()
	l := mustAdd(t, tbl, "regex", busy, 0)
	running, finish := make(chan struct{}), make(chan struct{})
	used := make(chan error)
	go func() {
		used <- tbl.Use(ctx, l.ID, use(busy, func() error {
			close(running)
			<-finish
			return nil
		}))
	}()
	<-running
	waiting := make(chan error)
	go func() { waiting <- tbl.Use(ctx, l.ID, use(busy, nil)) }()

	closed := make(chan error)
	go func() { closed <- tbl.Close(ctx) }()
	for _, h := range idle {
		<-h.ended // idle leases are released without waiting for the busy one
	}
	if err := <-waiting; !errors.Is(err, ErrClosed) {
		t.Errorf("Use waiting during Close = %v, want ErrClosed", err)
	}
	if _, err := tbl.Add("css", "x", newHeld(), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	if _, err := tbl.Get(l.ID); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a call was running", err)
	case <-time.After(5 * time.Millisecond):
	}
	if busy.ends() != 0 {
		t.Fatal("Close ended a lease while a call ran on it")
	}
	close(finish)
	if err := <-used; err != nil {
		t.Errorf("Use in flight during Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, h := range append(idle, busy) {
		checkHeld(t, h)
		if h.releases.Load() != 1 {
			t.Error("Close discarded an instance instead of releasing it")
		}
	}
	if s := tbl.Stats(); s.Released != 4 || s.ActiveTotal() != 0 {
		t.Errorf("Stats after Close = %+v", s)
	}
	if err := tbl.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseDeadline(t *testing.T) {
	tbl, err := New(Config{DefaultTTL: time.Minute, Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	h := newHeld()
	l := mustAdd(t, tbl, "css", h, 0)
	running, finish := make(chan struct{}), make(chan struct{})
	go tbl.Use(context.Background(), l.ID, use(h, func() error {
		close(running)
		<-finish
		return nil
	}))
	<-running
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tbl.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close with a call in flight and no time = %v, want context.Canceled", err)
	}
	close(finish)
	<-h.ended // released once the call finishes
	checkHeld(t, h)
	if err := tbl.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestDurationHistogram checks that ended leases are counted in the
// lifetime histogram with its own bounds.
func TestDurationHistogram(t *testing.T) {
	r := histogram.New(DurationBounds)
	for _, d := range []time.Duration{50 * time.Millisecond, 2 * time.Second, 3 * time.Second, 90 * time.Second, 48 * time.Hour} {
		r.Observe(d)
	}
	cum := r.Snapshot().Cumulative()
	for _, tt := range []struct {
		bound time.Duration
		cum   uint64
	}{
		{100 * time.Millisecond, 1}, {time.Second, 1}, {5 * time.Second, 3}, {time.Minute, 3},
		{2 * time.Minute, 4}, {24 * time.Hour, 4},
	} {
		if got := cum[tt.bound.Seconds()]; got != tt.cum {
			t.Errorf("cumulative count at %v = %d, want %d", tt.bound, got, tt.cum)
		}
	}
}

// FuzzUnknownID checks that no ID a client can send reaches a lease it was
// not given, and that none makes a method fail otherwise.
func FuzzUnknownID(f *testing.F) {
	for _, seed := range []string{"", "A", "AAAAAAAAAAAAAAAAAAAAAA", "____________________-_", "\x00", "ünïcode"} {
		f.Add(seed)
	}
	tbl, err := New(Config{DefaultTTL: time.Minute, Clock: newFakeClock()})
	if err != nil {
		f.Fatal(err)
	}
	defer tbl.Close(context.Background())
	h := newHeld()
	l, err := tbl.Add("css", "css-1", h, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if id == l.ID {
			return
		}
		ctx := context.Background()
		if err := tbl.Use(ctx, id, func(Held) error { return errors.New("ran") }); !errors.Is(err, ErrNotFound) {
			t.Errorf("Use(%q) = %v", id, err)
		}
		if _, err := tbl.Get(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v", id, err)
		}
		if _, err := tbl.Renew(id, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("Renew(%q) = %v", id, err)
		}
		if err := tbl.Release(ctx, id, true); !errors.Is(err, ErrNotFound) {
			t.Errorf("Release(%q) = %v", id, err)
		}
		if h.ends() != 0 {
			t.Fatalf("ID %q ended another lease", id)
		}
	})
}

func TestTTLErrorMessage(t *testing.T) {
	tests := []struct {
		err  TTLError
		want string
	}{
		{TTLError{TTL: -time.Second, Max: time.Minute}, "lease: ttl -1s is negative"},
		{TTLError{TTL: time.Hour, Max: 10 * time.Minute}, "lease: ttl 1h0m0s exceeds the maximum 10m0s"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestRealClock runs a short lease to expiry on the runtime's clock.
func TestRealClock(t *testing.T) {
	expired := make(chan Lease, 1)
	tbl, err := New(Config{DefaultTTL: 20 * time.Millisecond, OnExpired: func(l Lease) { expired <- l }})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close(context.Background())
	h := newHeld()
	l := mustAdd(t, tbl, "css", h, 0)
	select {
	case got := <-expired:
		if got.ID != l.ID {
			t.Errorf("OnExpired got %q, want %q", got.ID, l.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a 20ms lease did not expire within 10s")
	}
	<-h.ended
	checkHeld(t, h)
	if m := tbl.Stats().Duration.Mean(); m < 20*time.Millisecond {
		t.Errorf("lease lived %v, less than its TTL", m)
	}
}
