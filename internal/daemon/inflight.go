package daemon

import (
	"maps"
	"slices"
	"sync/atomic"

	"google.golang.org/grpc"
)

// inflight counts the unary calls being handled, in all and by method, so
// that a shutdown that gives up on some can say which.
type inflight struct {
	total atomic.Int64
	// byMethod is filled once, from the services' descriptions, and only
	// read after: calls look their counter up without a lock.
	byMethod map[string]*atomic.Int64
}

// newInflight counts the unary methods of the services a server has
// registered.
func newInflight(services map[string]grpc.ServiceInfo) *inflight {
	f := &inflight{byMethod: make(map[string]*atomic.Int64)}
	for name, info := range services {
		for _, m := range info.Methods {
			if !m.IsClientStream && !m.IsServerStream {
				f.byMethod["/"+name+"/"+m.Name] = new(atomic.Int64)
			}
		}
	}
	return f
}

// add counts n calls of method (the full method name) in, or out when n is
// negative.
func (f *inflight) add(method string, n int64) {
	f.total.Add(n)
	if c := f.byMethod[method]; c != nil {
		c.Add(n)
	}
}

// running returns the calls being handled.
func (f *inflight) running() int64 { return f.total.Load() }

// methods returns the calls being handled by method, leaving out methods
// with none; nil when there are none.
func (f *inflight) methods() map[string]int64 {
	var out map[string]int64
	for _, m := range slices.Sorted(maps.Keys(f.byMethod)) {
		if n := f.byMethod[m].Load(); n > 0 {
			if out == nil {
				out = make(map[string]int64)
			}
			out[m] = n
		}
	}
	return out
}
