package pool

import (
	"context"
	"testing"
	"time"
)

// TestBackoff follows a pool whose factory fails through its retries: each
// step publishes the retry pending, its delay doubling from RetryBackoff,
// when it is due, and the failures in a row; a creation that succeeds ends
// the backoff and the count.
func TestBackoff(t *testing.T) {
	clk := newFakeClock()
	f := &testFactory{}
	f.fail.Store(true)
	start := clk.Now()
	p, err := New(context.Background(), Config{Name: "b", MinSize: 2, MaxSize: 4, Clock: clk, RetryBackoff: time.Second}, f.new)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
	})

	steps := []struct {
		name    string
		advance time.Duration // the clock moves by this first
		succeed bool          // the factory succeeds from this step on
		// want, with RetryAt as an offset from start (0: zero).
		want    Backoff
		retryAt time.Duration
	}{
		// The warm-up's two creations fail: the first schedules the
		// retry, the second finds it pending.
		{name: "warm-up failed", want: Backoff{Pending: true, Delay: time.Second, Failures: 2}, retryAt: time.Second},
		{name: "first retry failed", advance: time.Second, want: Backoff{Pending: true, Delay: 2 * time.Second, Failures: 4}, retryAt: 3 * time.Second},
		{name: "second retry failed", advance: 2 * time.Second, want: Backoff{Pending: true, Delay: 4 * time.Second, Failures: 6}, retryAt: 7 * time.Second},
		{name: "third retry succeeded", advance: 4 * time.Second, succeed: true, want: Backoff{}},
	}
	for _, st := range steps {
		if st.advance > 0 {
			waitFor(t, "the retry timer", func() bool { return clk.Timers() == 1 })
			if st.succeed {
				f.fail.Store(false)
			}
			clk.Advance(st.advance)
		}
		st.want.First, st.want.Max = time.Second, 64*time.Second
		if st.retryAt > 0 {
			st.want.RetryAt = start.Add(st.retryAt)
		}
		var got Backoff
		waitFor(t, st.name, func() bool {
			s := p.Stats()
			got = p.Backoff()
			return s.Creating == 0 && (got.Failures == st.want.Failures && got.Pending == st.want.Pending)
		})
		if !got.RetryAt.Equal(st.want.RetryAt) {
			t.Errorf("%s: RetryAt %v, want %v", st.name, got.RetryAt, st.want.RetryAt)
		}
		got.RetryAt, st.want.RetryAt = time.Time{}, time.Time{}
		if got != st.want {
			t.Errorf("%s: %+v, want %+v", st.name, got, st.want)
		}
	}
	settled(t, p, 2)
}

// TestBackoffBounds checks the published bounds against the delays the
// pool waits: the first is RetryBackoff (100ms by default), the longest 64
// times that.
func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		retry       time.Duration
		first, most time.Duration
	}{
		{0, 100 * time.Millisecond, 6400 * time.Millisecond},
		{time.Second, time.Second, 64 * time.Second},
	}
	for _, tt := range tests {
		p := newTestPool(t, Config{MaxSize: 1, RetryBackoff: tt.retry}, &testFactory{})
		if b := p.Backoff(); b.First != tt.first || b.Max != tt.most || b.Pending || b.Failures != 0 {
			t.Errorf("RetryBackoff %v: %+v, want First %v, Max %v, nothing pending", tt.retry, b, tt.first, tt.most)
		}
	}
}
