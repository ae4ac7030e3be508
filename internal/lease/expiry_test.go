package lease

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestExpiry(t *testing.T) {
	clk := newFakeClock()
	tbl, expired := newTable(t, clk, Config{DefaultTTL: 10 * time.Second, ReapInterval: time.Second})
	h := newHeld()
	l := mustAdd(t, tbl, "css", h, 2*time.Second)
	other := newHeld()
	mustAdd(t, tbl, "css", other, time.Minute)

	advanceUntil(t, clk, 100*time.Millisecond, h.ended)
	got := <-expired
	if got.ID != l.ID || got.Pool != "css" || got.InstanceID != l.InstanceID {
		t.Errorf("OnExpired got %+v, want %+v", got, l)
	}
	checkHeld(t, h)
	if h.releases.Load() != 1 {
		t.Error("an expired lease's instance was discarded, not released")
	}
	if other.ends() != 0 {
		t.Error("the reaper ended a lease that had not expired")
	}
	if _, err := tbl.Get(l.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an expired lease = %v, want ErrNotFound", err)
	}
	if err := tbl.Release(context.Background(), l.ID, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("Release of an expired lease = %v, want ErrNotFound", err)
	}
	s := tbl.Stats()
	if s.Expired != 1 || s.Released != 0 || s.Active["css"] != 1 || s.Duration.Count != 1 {
		t.Errorf("Stats = %+v", s)
	}
	checkHeld(t, h)
	select {
	case l := <-expired:
		t.Errorf("OnExpired called again, for %+v", l)
	default:
	}
}

// TestExpiredIsNotFound checks that a lease is dead from its expiry on,
// whether or not the reaper has run yet, and that a call finding it expired
// ends it exactly as the reaper would.
func TestExpiredIsNotFound(t *testing.T) {
	tests := []struct {
		name string
		call func(tbl *Table, id string) error
	}{
		{"Get", func(tbl *Table, id string) error { _, err := tbl.Get(id); return err }},
		{"Renew", func(tbl *Table, id string) error { _, err := tbl.Renew(id, time.Minute); return err }},
		{"Use", func(tbl *Table, id string) error {
			return tbl.Use(context.Background(), id, func(Held) error { return errors.New("ran on an expired lease") })
		}},
		{"Release", func(tbl *Table, id string) error { return tbl.Release(context.Background(), id, true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			// The reaper sleeps far longer than the test runs; Add still
			// wakes it for the lease, so either may end it.
			tbl, expired := newTable(t, clk, Config{ReapInterval: time.Hour})
			h := newHeld()
			l := mustAdd(t, tbl, "css", h, 5*time.Second)
			clk.Advance(5 * time.Second) // exactly at ExpiresAt: expired
			if err := tt.call(tbl, l.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s at expiry = %v, want ErrNotFound", tt.name, err)
			}
			// Get and Renew leave the ending to the reaper, whose timer may
			// have been set just before the clock moved: keep it moving.
			advanceUntil(t, clk, time.Second, h.ended)
			if got := <-expired; got.ID != l.ID {
				t.Errorf("OnExpired got %q, want %q", got.ID, l.ID)
			}
			checkHeld(t, h)
			if h.releases.Load() != 1 {
				t.Error("an expired lease was discarded")
			}
		})
	}
}

// TestExpiryWaitsForUse checks that a lease expiring while a call runs on it
// ends after the call, and that a Renew that lands in time keeps it.
func TestExpiryWaitsForUse(t *testing.T) {
	for _, renew := range []bool{false, true} {
		name := "expires after the call"
		if renew {
			name = "renewed during the call"
		}
		t.Run(name, func(t *testing.T) {
			clk := newFakeClock()
			tbl, expired := newTable(t, clk, Config{ReapInterval: time.Second})
			h := newHeld()
			l := mustAdd(t, tbl, "css", h, 10*time.Second)
			running, finish := make(chan struct{}), make(chan struct{})
			used := make(chan error)
			go func() {
				used <- tbl.Use(context.Background(), l.ID, use(h, func() error {
					close(running)
					<-finish
					return nil
				}))
			}()
			<-running
			clk.Advance(9 * time.Second)
			if renew {
				if _, err := tbl.Renew(l.ID, 10*time.Second); err != nil {
					t.Fatalf("Renew: %v", err)
				}
			}
			// Well past the first expiry; the reaper runs several times.
			for range 20 {
				clk.Advance(100 * time.Millisecond)
				time.Sleep(time.Millisecond)
			}
			if h.ends() != 0 {
				t.Fatal("the lease ended while a call ran on it")
			}
			close(finish)
			if err := <-used; err != nil {
				t.Fatalf("Use: %v", err)
			}
			if renew {
				if err := tbl.Use(context.Background(), l.ID, use(h, nil)); err != nil {
					t.Errorf("Use of the renewed lease: %v", err)
				}
				if h.ends() != 0 || len(expired) != 0 {
					t.Error("a renewed lease expired")
				}
				return
			}
			advanceUntil(t, clk, 100*time.Millisecond, h.ended)
			<-expired
			checkHeld(t, h)
		})
	}
}

// TestEndRechecksExpiry checks the last line of defence against a Renew
// racing the reaper: end(expired) re-reads the expiry under the lock.
func TestEndRechecksExpiry(t *testing.T) {
	clk := newFakeClock()
	tbl, _ := newTable(t, clk, Config{ReapInterval: time.Hour})
	h := newHeld()
	l := mustAdd(t, tbl, "css", h, time.Minute)
	e, err := tbl.lookup(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.lock(context.Background(), nil)
	if tbl.end(e, expired) {
		t.Error("end(expired) ended a lease that has not expired")
	}
	e.unlock()
	if h.ends() != 0 {
		t.Error("instance ended")
	}
}

// TestRenewRacingExpiry runs renewals, calls and releases against the
// reaper on many short leases while the clock runs, and checks that every
// instance is ended exactly once, never while a call runs on it.
func TestRenewRacingExpiry(t *testing.T) {
	const leases, rounds = 64, 50
	clk := newFakeClock()
	tbl, expiredCh := newTable(t, clk, Config{DefaultTTL: 200 * time.Millisecond, MaxTTL: time.Second, ReapInterval: 50 * time.Millisecond})

	stopClock := make(chan struct{})
	clockDone := make(chan struct{})
	go func() {
		defer close(clockDone)
		for {
			select {
			case <-stopClock:
				return
			default:
				clk.Advance(10 * time.Millisecond)
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()

	helds := make([]*fakeHeld, leases)
	var wg sync.WaitGroup
	for i := range leases {
		h := newHeld()
		helds[i] = h
		l := mustAdd(t, tbl, "css", h, 0)
		// A renewer, keeping the lease alive for a while.
		wg.Go(func() {
			for range rounds {
				if _, err := tbl.Renew(l.ID, time.Duration(rand.IntN(200)+1)*time.Millisecond); err != nil {
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("Renew: %v", err)
					}
					return
				}
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			}
		})
		// Two callers, contending for the lease with the reaper.
		for range 2 {
			wg.Go(func() {
				for range rounds {
					err := tbl.Use(context.Background(), l.ID, use(h, func() error {
						time.Sleep(time.Duration(rand.IntN(100)) * time.Microsecond)
						return nil
					}))
					if errors.Is(err, ErrNotFound) {
						return
					}
					if err != nil {
						t.Errorf("Use: %v", err)
						return
					}
				}
			})
		}
		// Every fourth lease also has a client releasing it mid-way.
		if i%4 == 0 {
			wg.Go(func() {
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				err := tbl.Release(context.Background(), l.ID, i%8 == 0)
				if err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("Release: %v", err)
				}
			})
		}
	}
	wg.Wait()
	close(stopClock)
	<-clockDone

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tbl.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var releases, discards int
	for _, h := range helds {
		checkHeld(t, h)
		releases += int(h.releases.Load())
		discards += int(h.discards.Load())
	}
	s := tbl.Stats()
	if s.Created != leases || s.Released+s.Discarded+s.Expired != leases || s.ActiveTotal() != 0 {
		t.Errorf("Stats = %+v, want %d leases created and ended", s, leases)
	}
	if int(s.Discarded) != discards || int(s.Released+s.Expired) != releases {
		t.Errorf("Stats count %d released, %d expired, %d discarded; instances saw %d releases and %d discards",
			s.Released, s.Expired, s.Discarded, releases, discards)
	}
	// OnExpired returns before the lease leaves the table, so Close has
	// waited for every call.
	if n := len(expiredCh); n != int(s.Expired) {
		t.Errorf("OnExpired called %d times, Stats.Expired = %d", n, s.Expired)
	}
	t.Logf("%d released, %d expired, %d discarded", s.Released, s.Expired, s.Discarded)
}
