package wasmpool

import (
	"slices"
	"testing"
)

// fakeDonor is a module whose idle instances above its minimum have the
// given sizes; the rest of its memory (instances in use, or at its
// minimum) it cannot give.
type fakeDonor struct {
	kept   uint64
	idle   []uint64
	used   *uint64 // the budget's use, which shedding lowers
	refill bool    // makes an instance as large as each one it sheds
}

func (d *fakeDonor) held() uint64 {
	n := d.kept
	for _, s := range d.idle {
		n += s
	}
	return n
}

func (d *fakeDonor) shed() bool {
	if len(d.idle) == 0 {
		return false
	}
	i := slices.Index(d.idle, slices.Max(d.idle))
	size := d.idle[i]
	if d.refill {
		return true
	}
	d.idle = slices.Delete(d.idle, i, i+1)
	*d.used -= size
	return true
}

// TestTakeBack checks who gives back what: only modules over their share,
// the one most over it first, and only until the new instance fits. (Which
// of a module's idle instances goes, the largest, is pool.ShedIdle's to
// choose: see its test.)
func TestTakeBack(t *testing.T) {
	type donorSpec struct {
		kept   uint64
		idle   []uint64
		refill bool
	}
	tests := []struct {
		name         string
		share        uint64
		budget, need uint64
		others       uint64 // the requester's and other modules' memory
		donors       []donorSpec
		want         []int
		fits         bool
	}{
		{
			name: "one over its share gives until the instance fits", share: 10, budget: 30, need: 4,
			donors: []donorSpec{{kept: 8, idle: []uint64{4, 4, 4}}, {kept: 10}},
			want:   []int{1, 0}, fits: true,
		},
		{
			name: "the one most over its share first, then the other", share: 10, budget: 40, need: 10,
			donors: []donorSpec{{kept: 9, idle: []uint64{3, 3, 3}}, {kept: 10, idle: []uint64{6, 6}}},
			// B 22 (12 over) gives 6; A 18 (8 over) then B 16 (6 over)
			// give 3 and 6: 40 → 25, where 10 fit.
			want: []int{1, 2}, fits: true,
		},
		{
			name: "nothing from a module within its share", share: 10, budget: 20, need: 5,
			others: 10, donors: []donorSpec{{kept: 0, idle: []uint64{5, 5}}},
			want: []int{0}, fits: false,
		},
		{
			name: "nothing in use or at the minimum", share: 10, budget: 30, need: 5,
			donors: []donorSpec{{kept: 30}},
			want:   []int{0}, fits: false,
		},
		{
			name: "a module stops giving once within its share", share: 10, budget: 14, need: 9,
			donors: []donorSpec{{kept: 4, idle: []uint64{8, 2}}},
			want:   []int{1}, fits: false,
		},
		{
			name: "nothing when it already fits", share: 10, budget: 40, need: 10,
			donors: []donorSpec{{kept: 0, idle: []uint64{10, 10}}},
			want:   []int{0}, fits: true,
		},
		{
			name: "a module that makes instances as fast as it gives them is asked at most the limit", share: 10,
			budget: 20, need: 5, donors: []donorSpec{{kept: 10, idle: []uint64{10}, refill: true}},
			want: []int{4}, fits: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			used := tt.others
			var donors []donor
			for _, d := range tt.donors {
				fd := &fakeDonor{kept: d.kept, idle: slices.Clone(d.idle), used: &used, refill: d.refill}
				used += fd.held()
				donors = append(donors, fd)
			}
			fits := func() bool { return used+tt.need <= tt.budget }
			got := takeBack(tt.share, donors, 4, fits)
			if !slices.Equal(got, tt.want) {
				t.Errorf("gave %v, want %v", got, tt.want)
			}
			if fits() != tt.fits {
				t.Errorf("fits afterwards = %v, want %v (%d used)", fits(), tt.fits, used)
			}
		})
	}
}
