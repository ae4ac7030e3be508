package pool

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// TestShedIdle checks which idle item ShedIdle closes, call after call,
// until it reports that it may close none: the heaviest, the one idle
// longest between equals, never one in use, never below MinSize.
func TestShedIdle(t *testing.T) {
	tests := []struct {
		name       string
		min, items int
		inUse      int     // the last inUse items stay checked out
		weights    []int64 // by item, in the order they were released
		want       []int   // the items closed, in order
	}{
		{"heaviest first, ties to the longest idle", 0, 3, 0, []int64{1, 5, 5}, []int{1, 2, 0}},
		{"equal weights: longest idle first", 0, 3, 0, []int64{0, 0, 0}, []int{0, 1, 2}},
		{"keeps MinSize", 2, 3, 0, []int64{1, 2, 3}, []int{2}},
		{"items in use count towards MinSize and are never closed", 1, 3, 1, []int64{1, 1, 9}, []int{0, 1}},
		{"nothing idle", 0, 2, 2, []int64{1, 1}, nil},
		{"at MinSize", 2, 2, 0, []int64{1, 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu      sync.Mutex
				details []string
			)
			p := newTestPool(t, Config{MinSize: tt.min, MaxSize: tt.items, OnEvent: func(e Event) {
				if e.Kind == EventDestroyed {
					mu.Lock()
					details = append(details, e.Reason.String()+":"+e.Detail)
					mu.Unlock()
				}
			}}, &testFactory{})
			handles := make([]*Handle[*testItem], tt.items)
			items := make([]*testItem, tt.items)
			weight := make(map[*testItem]int64)
			for i := range handles {
				handles[i] = mustCheckout(t, p)
				items[i] = handles[i].Value()
				weight[items[i]] = tt.weights[i]
			}
			for _, h := range handles[:tt.items-tt.inUse] {
				h.Release()
			}
			var got []int
			for p.ShedIdle(func(it *testItem) int64 { return weight[it] }, "for another") {
				if len(got) > tt.items {
					t.Fatalf("ShedIdle keeps closing items")
				}
				for i, it := range items {
					if it.closes.Load() == 1 && !slices.Contains(got, i) {
						got = append(got, i)
					}
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("closed %v, want %v", got, tt.want)
			}
			st := p.Stats()
			if int(st.Destroyed[ReasonReclaimed]) != len(tt.want) || st.Total != tt.items-len(tt.want) || st.Creating != 0 {
				t.Errorf("after shedding: %d reclaimed, %d live, %d creating; want %d, %d, 0",
					st.Destroyed[ReasonReclaimed], st.Total, st.Creating, len(tt.want), tt.items-len(tt.want))
			}
			mu.Lock()
			for _, d := range details {
				if d != "reclaimed:for another" {
					t.Errorf("destroyed event %q, want reclaimed:for another", d)
				}
			}
			mu.Unlock()
			for i, h := range handles[tt.items-tt.inUse:] {
				if items[tt.items-tt.inUse+i].closes.Load() != 0 {
					t.Errorf("an item in use was closed")
				}
				h.Release()
			}
		})
	}
}

// TestShedIdleClosedPool checks that a closed pool sheds nothing.
func TestShedIdleClosedPool(t *testing.T) {
	p := newTestPool(t, Config{MaxSize: 2}, &testFactory{})
	mustCheckout(t, p).Release()
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.ShedIdle(func(*testItem) int64 { return 0 }, "") {
		t.Errorf("a closed pool shed an item")
	}
}
