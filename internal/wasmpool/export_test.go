package wasmpool

import "context"

// SlotsRunning is how many of module's calls hold a call slot.
func (s *Set) SlotsRunning(module string) int {
	s.slots.mu.Lock()
	defer s.slots.mu.Unlock()
	if m := s.slots.modules[module]; m != nil {
		return m.running
	}
	return 0
}

// HoldSlot takes a call slot for module as a new call would, and returns
// the function that gives it back.
func (s *Set) HoldSlot(ctx context.Context, module string) (release func(), err error) {
	if err := s.slots.acquire(ctx, module, 0); err != nil {
		return nil, err
	}
	return func() { s.slots.release(module) }, nil
}

// LiveMemoryBytes is the memory figures of the open instances now, as
// their guests have them, whatever they are charged.
func (s *Set) LiveMemoryBytes() uint64 {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	var n uint64
	for i := range s.live {
		n += i.Instance.MemoryBytes()
	}
	return n
}
