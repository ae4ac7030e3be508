package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"
)

// drain reads every event already buffered in s, without waiting.
func drain(t *testing.T, s *Subscription) []Event {
	t.Helper()
	var got []Event
	for {
		e, ok, err := s.pop()
		if err != nil || !ok {
			return got
		}
		got = append(got, e)
	}
}

func describe(es []Event) []string {
	var out []string
	for _, e := range es {
		switch e.Kind {
		case EventsDropped:
			out = append(out, fmt.Sprintf("EventsDropped(%d)", e.Count))
		default:
			out = append(out, e.Kind.String()+"@"+e.Pool)
		}
	}
	return out
}

func TestFilter(t *testing.T) {
	published := []Event{
		{Kind: InstanceCreated, Pool: "css"},
		{Kind: InstanceCheckedOut, Pool: "css"},
		{Kind: InstanceReturned, Pool: "article"},
		{Kind: CircuitStateChanged, Pool: "article", From: "closed", To: "open"},
		{Kind: MemoryPressure, Level: "high", Pressure: 0.9},
		{Kind: PoolExhausted, Pool: "regex", Waiters: 3},
		{Kind: EventsDropped, Count: 7}, // not publishable
		{Kind: Kind(0), Pool: "css"},    // invalid
		{Kind: numKinds, Pool: "css"},   // invalid
	}
	tests := []struct {
		name   string
		filter Filter
		want   []string
	}{
		{
			name: "empty filter: all but checkout and return",
			want: []string{"InstanceCreated@css", "CircuitStateChanged@article", "MemoryPressure@", "PoolExhausted@regex"},
		},
		{
			name:   "kinds",
			filter: Filter{Kinds: []Kind{PoolExhausted, InstanceCreated}},
			want:   []string{"InstanceCreated@css", "PoolExhausted@regex"},
		},
		{
			name:   "checkout and return when asked",
			filter: Filter{Kinds: []Kind{InstanceCheckedOut, InstanceReturned}},
			want:   []string{"InstanceCheckedOut@css", "InstanceReturned@article"},
		},
		{
			name:   "pools, with daemon-wide events",
			filter: Filter{Pools: []string{"article"}},
			want:   []string{"CircuitStateChanged@article", "MemoryPressure@"},
		},
		{
			name:   "kinds and pools",
			filter: Filter{Kinds: Kinds(), Pools: []string{"css", "nosuch"}},
			want:   []string{"InstanceCreated@css", "InstanceCheckedOut@css", "MemoryPressure@"},
		},
		{
			name:   "only invalid kinds selects nothing",
			filter: Filter{Kinds: []Kind{Kind(0), Kind(200)}},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := NewBus(Config{})
			sub := bus.Subscribe(tt.filter, 16)
			defer sub.Close()
			for _, e := range published {
				bus.Publish(e)
			}
			if got := describe(drain(t, sub)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWants(t *testing.T) {
	bus := NewBus(Config{})
	check := func(when string, want map[Kind]bool) {
		t.Helper()
		for _, k := range Kinds() {
			if got := bus.Wants(k); got != want[k] {
				t.Errorf("%s: Wants(%v) = %v, want %v", when, k, got, want[k])
			}
		}
		if bus.Wants(Kind(0)) || bus.Wants(Kind(99)) {
			t.Errorf("%s: Wants of an invalid kind", when)
		}
	}
	check("no subscriber", nil)

	all := bus.Subscribe(Filter{}, 1)
	defaults := map[Kind]bool{}
	for _, k := range Kinds() {
		defaults[k] = k != InstanceCheckedOut && k != InstanceReturned
	}
	check("default filter", defaults)

	co := bus.Subscribe(Filter{Kinds: []Kind{InstanceCheckedOut}, Pools: []string{"css"}}, 1)
	withCheckout := maps(defaults)
	withCheckout[InstanceCheckedOut] = true
	check("checkout subscriber", withCheckout)

	all.Close()
	check("only the checkout subscriber", map[Kind]bool{InstanceCheckedOut: true})
	co.Close()
	co.Close() // idempotent: must not decrement twice
	check("all closed", nil)

	bus.Subscribe(Filter{Kinds: []Kind{InstanceReturned}}, 1)
	bus.Close()
	check("bus closed", nil)
}

func maps(m map[Kind]bool) map[Kind]bool {
	c := make(map[Kind]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestDropOldest(t *testing.T) {
	tests := []struct {
		buffer, published int
	}{
		{buffer: 4, published: 3},
		{buffer: 4, published: 4},
		{buffer: 4, published: 5},
		{buffer: 4, published: 100},
		{buffer: 1, published: 10},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d into %d", tt.published, tt.buffer), func(t *testing.T) {
			bus := NewBus(Config{})
			sub := bus.Subscribe(Filter{}, tt.buffer)
			defer sub.Close()
			for i := range tt.published {
				bus.Publish(Event{Kind: PoolExhausted, Pool: "css", Waiters: i})
			}
			got := drain(t, sub)

			lost := max(tt.published-tt.buffer, 0)
			var want []Event
			if lost > 0 {
				want = append(want, Event{Kind: EventsDropped, Count: uint64(lost)})
			}
			for i := lost; i < tt.published; i++ {
				want = append(want, Event{Kind: PoolExhausted, Pool: "css", Waiters: i})
			}
			if len(got) != len(want) {
				t.Fatalf("got %d events %v, want %d", len(got), describe(got), len(want))
			}
			for i := range got {
				got[i].Time = time.Time{}
				if got[i] != want[i] {
					t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
				}
			}
			st := bus.Stats()
			if st.Dropped != uint64(lost) || st.Delivered != uint64(tt.published-lost) || st.Published != uint64(tt.published) {
				t.Errorf("Stats = %+v, want published %d, delivered %d, dropped %d",
					st, tt.published, tt.published-lost, lost)
			}

			// Once reported, the count starts again from zero.
			bus.Publish(Event{Kind: ModuleLoaded, Pool: "article"})
			if got := describe(drain(t, sub)); !slices.Equal(got, []string{"ModuleLoaded@article"}) {
				t.Errorf("after the report: got %q", got)
			}
		})
	}
}

func TestTime(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	bus := NewBus(Config{Clock: func() time.Time { return now }})
	sub := bus.Subscribe(Filter{}, 1)
	defer sub.Close()

	bus.Publish(Event{Kind: InstanceCreated})
	if e := drain(t, sub); len(e) != 1 || !e[0].Time.Equal(now) {
		t.Errorf("unstamped event: got %+v, want Time %v", e, now)
	}
	given := now.Add(-time.Hour)
	bus.Publish(Event{Kind: InstanceCreated, Time: given})
	if e := drain(t, sub); len(e) != 1 || !e[0].Time.Equal(given) {
		t.Errorf("stamped event: got %+v, want Time %v", e, given)
	}
	bus.Publish(Event{Kind: InstanceCreated})
	bus.Publish(Event{Kind: InstanceCreated})
	if e := drain(t, sub); len(e) != 2 || e[0].Kind != EventsDropped || !e[0].Time.Equal(now) {
		t.Errorf("EventsDropped: got %+v, want it stamped %v", e, now)
	}
}

func TestNextWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := NewBus(Config{})
		sub := bus.Subscribe(Filter{}, 4)
		defer sub.Close()

		got := make(chan Event)
		go func() {
			e, err := sub.Next(t.Context())
			if err != nil {
				t.Errorf("Next: %v", err)
			}
			got <- e
		}()
		synctest.Wait() // the reader is blocked in Next
		bus.Publish(Event{Kind: LeaseExpired, Pool: "css", LeaseID: "l1"})
		if e := <-got; e.Kind != LeaseExpired || e.LeaseID != "l1" {
			t.Errorf("Next = %+v, want the LeaseExpired event", e)
		}
	})
}

func TestNextContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sub := NewBus(Config{}).Subscribe(Filter{}, 4)
		defer sub.Close()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := sub.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Next = %v, want DeadlineExceeded", err)
		}
	})
}

func TestSubscriptionClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := NewBus(Config{})
		keep := bus.Subscribe(Filter{}, 4)
		sub := bus.Subscribe(Filter{}, 4)
		bus.Publish(Event{Kind: InstanceCreated})

		errc := make(chan error, 2)
		for range 2 { // two readers: both must wake
			go func() {
				for {
					if _, err := sub.Next(t.Context()); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		synctest.Wait()
		sub.Close()
		for range 2 {
			if err := <-errc; !errors.Is(err, ErrClosed) {
				t.Errorf("Next after Close = %v, want ErrClosed", err)
			}
		}

		// A closed subscription discards what it had and receives no more.
		bus.Publish(Event{Kind: InstanceCreated})
		sub2 := bus.Subscribe(Filter{}, 4)
		sub2.Close()
		bus.Publish(Event{Kind: InstanceCreated})
		if _, err := sub2.Next(t.Context()); !errors.Is(err, ErrClosed) {
			t.Errorf("Next on a closed subscription = %v, want ErrClosed", err)
		}
		if got := bus.Stats().Subscribers; got != 1 {
			t.Errorf("Subscribers = %d, want 1", got)
		}
		if got := len(drain(t, keep)); got != 3 {
			t.Errorf("the other subscription got %d events, want 3", got)
		}
		keep.Close()
	})
}

func TestBusClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := NewBus(Config{})
		sub := bus.Subscribe(Filter{}, 2)
		for i := range 3 {
			bus.Publish(Event{Kind: PoolExhausted, Waiters: i})
		}

		// A reader blocked on an empty subscription wakes with ErrClosed.
		idle := bus.Subscribe(Filter{}, 2)
		drain(t, idle)
		errc := make(chan error)
		go func() {
			_, err := idle.Next(t.Context())
			errc <- err
		}()
		synctest.Wait()
		bus.Close()
		bus.Close() // idempotent
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Errorf("idle Next after bus Close = %v, want ErrClosed", err)
		}

		// Publish after Close is a no-op; buffered events are drained first.
		bus.Publish(Event{Kind: PoolExhausted, Waiters: 99})
		var got []string
		for {
			e, err := sub.Next(t.Context())
			if errors.Is(err, ErrClosed) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%v:%d:%d", e.Kind, e.Waiters, e.Count))
		}
		want := []string{"EventsDropped:0:1", "PoolExhausted:1:0", "PoolExhausted:2:0"}
		if !slices.Equal(got, want) {
			t.Errorf("drained %q, want %q", got, want)
		}

		late := bus.Subscribe(Filter{}, 2)
		if _, err := late.Next(t.Context()); !errors.Is(err, ErrClosed) {
			t.Errorf("Next on a subscription made after Close = %v, want ErrClosed", err)
		}
		late.Close()
		sub.Close()
		if st := bus.Stats(); st.Subscribers != 0 {
			t.Errorf("Subscribers = %d, want 0", st.Subscribers)
		}
	})
}

func TestKindString(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		s := k.String()
		if s == "" || seen[s] || s[0] == 'K' {
			t.Errorf("Kind(%d).String() = %q: empty, duplicate or unnamed", k, s)
		}
		seen[s] = true
	}
	if len(seen) != 13 {
		t.Errorf("%d kinds, want the 13 of the API", len(seen))
	}
	if got := Kind(0).String(); got != "Kind(0)" {
		t.Errorf("Kind(0).String() = %q", got)
	}
}

// TestConcurrent runs publishers and subscribers together (run it with
// -race) and checks the accounting of every subscriber exactly: the events
// it read plus the drops it was told of equal the events published for
// it, and each publisher's events arrive in order.
func TestConcurrent(t *testing.T) {
	const (
		publishers = 4
		perPub     = 3000
	)
	pools := []string{"css", "regex", "article"}
	bus := NewBus(Config{})
	filters := []Filter{
		{},
		{Pools: []string{"css"}},
		{Kinds: []Kind{InstanceCheckedOut}},
		{Kinds: []Kind{InstanceCreated, InstanceCheckedOut}, Pools: []string{"regex", "article"}},
	}
	type result struct {
		read, dropped int
		outOfOrder    bool
	}
	results := make([]result, len(filters)*2)
	var readers sync.WaitGroup
	for i := range results {
		f := filters[i%len(filters)]
		buffer := 8 // small: most subscribers drop
		if i >= len(filters) {
			buffer = publishers * perPub // large: none drops
		}
		sub := bus.Subscribe(f, buffer)
		readers.Go(func() {
			defer sub.Close()
			last := make([]int, publishers)
			for {
				e, err := sub.Next(context.Background())
				if err != nil {
					return
				}
				if e.Kind == EventsDropped {
					results[i].dropped += int(e.Count)
					continue
				}
				results[i].read++
				// Waiters carries publisher*perPub + sequence.
				p, seq := e.Waiters/perPub, e.Waiters%perPub+1
				if seq <= last[p] {
					results[i].outOfOrder = true
				}
				last[p] = seq
			}
		})
	}

	want := make([]int, len(filters))
	for i := range publishers {
		for j := range perPub {
			kind := InstanceCreated
			if j%2 == 1 {
				kind = InstanceCheckedOut
			}
			e := Event{Kind: kind, Pool: pools[(i+j)%len(pools)]}
			for f, filter := range filters {
				if newSubscription(nil, filter, 1).matches(&e) {
					want[f]++
				}
			}
		}
	}

	var pubs sync.WaitGroup
	for i := range publishers {
		pubs.Go(func() {
			for j := range perPub {
				kind := InstanceCreated
				if j%2 == 1 {
					kind = InstanceCheckedOut
				}
				bus.Publish(Event{Kind: kind, Pool: pools[(i+j)%len(pools)], Waiters: i*perPub + j})
			}
		})
	}
	pubs.Wait()
	bus.Close()
	readers.Wait()

	var dropped int
	for i, r := range results {
		w := want[i%len(filters)]
		if r.read+r.dropped != w {
			t.Errorf("subscriber %d (%+v): read %d + dropped %d != published %d",
				i, filters[i%len(filters)], r.read, r.dropped, w)
		}
		if i >= len(filters) && r.dropped != 0 {
			t.Errorf("subscriber %d with a large buffer dropped %d", i, r.dropped)
		}
		if r.outOfOrder {
			t.Errorf("subscriber %d saw a publisher's events out of order", i)
		}
		dropped += r.dropped
	}
	if st := bus.Stats(); st.Dropped != uint64(dropped) || st.Published != publishers*perPub {
		t.Errorf("Stats = %+v, want %d dropped, %d published", st, dropped, publishers*perPub)
	}
}

var sink Event

func BenchmarkPublish(b *testing.B) {
	e := Event{Kind: InstanceCreated, Pool: "css", InstanceID: "css-17"}
	b.Run("subscribers=0", func(b *testing.B) {
		bus := NewBus(Config{})
		b.ReportAllocs()
		for b.Loop() {
			bus.Publish(e)
		}
	})
	b.Run("subscribers=0/parallel", func(b *testing.B) {
		bus := NewBus(Config{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bus.Publish(e)
			}
		})
	})
	b.Run("subscribers=1/other-kind", func(b *testing.B) {
		bus := NewBus(Config{})
		sub := bus.Subscribe(Filter{Kinds: []Kind{GcCompleted}}, 0)
		defer sub.Close()
		b.ReportAllocs()
		for b.Loop() {
			bus.Publish(e)
		}
	})
	b.Run("subscribers=1/reading", func(b *testing.B) {
		bus := NewBus(Config{})
		sub := bus.Subscribe(Filter{}, 0)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				ev, err := sub.Next(context.Background())
				if err != nil {
					return
				}
				sink = ev
			}
		}()
		b.ReportAllocs()
		for b.Loop() {
			bus.Publish(e)
		}
		b.StopTimer()
		bus.Close()
		<-done
	})
	b.Run("subscribers=1/stalled", func(b *testing.B) {
		bus := NewBus(Config{})
		sub := bus.Subscribe(Filter{}, 0) // never read: always full
		defer sub.Close()
		b.ReportAllocs()
		for b.Loop() {
			bus.Publish(e)
		}
	})
}

// TestReasonSanitized publishes reasons that quote a hostile module's text:
// every subscriber gets valid UTF-8 of at most MaxReasonBytes, which the
// API can marshal.
func TestReasonSanitized(t *testing.T) {
	long := strings.Repeat("é", MaxReasonBytes) // two bytes each
	tests := []struct {
		name, reason, want string
	}{
		{"plain", "unusable: trap", "unusable: trap"},
		{"invalid byte", "panic: \xff\xfe here", "panic: \uFFFD here"},
		{"cut mid-character", "panic: caf\xc3", "panic: caf\uFFFD"},
		{"too long", long, long[:MaxReasonBytes-len("…")-1] + "…"},
		{"too long, odd cut", "x" + long, "x" + long[:MaxReasonBytes-len("…")-1] + "…"},
	}
	bus := NewBus(Config{})
	sub := bus.Subscribe(Filter{}, 16)
	defer sub.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus.Publish(Event{Kind: InstanceDestroyed, Pool: "hostile", Reason: tt.reason})
			got := drain(t, sub)
			if len(got) != 1 {
				t.Fatalf("%d events", len(got))
			}
			r := got[0].Reason
			if r != tt.want || !utf8.ValidString(r) || len(r) > MaxReasonBytes {
				t.Errorf("Reason = %.40q… (%d bytes, valid %v), want %.40q… (%d bytes)", r, len(r), utf8.ValidString(r), tt.want, len(tt.want))
			}
		})
	}
}
