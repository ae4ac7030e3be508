package interrupt

// maxStaticHeight is the most stack, in the bytes of FrameBytes, that the
// functions findStatic exempts from the stack bound may take: what the
// budget must keep in reserve for them.
const maxStaticHeight = 64 << 10

// findStatic marks, in m.static, the defined functions whose stack needs no
// bound of its own, and sets m.reserve to the most stack any of them takes.
//
// A function is static when it calls no function but static ones, by
// direct calls (call, return_call) and not through a table or to an
// import, no chain of such calls loops, and the stack it can take, its
// frame and the largest of those it calls, is at most maxStaticHeight. A
// static function is not an entry of the module (export, start), which the
// host could call with any budget, and a module that shares its tables
// with others has none.
//
// Why the bound still holds: a static function can only be called, directly
// or through a table, by another function; if by a static one, that one's
// height covers it. So the static frames on a stack at any time are one
// run at its top, above a function that is not static, whose entry took
// its frame from the budget and checked that at least m.reserve was left
// (appendTakeStack). The run takes at most the height of its first
// function, at most m.reserve: the budget's count of the stack is short by
// at most what it kept back. A tail call from a function that is not
// static gives its frame back before it leaves, leaving the budget where
// its caller's entry checked it.
//
// It reads every body, but reports nothing: rewriteBody reports what is
// wrong with a body, and a function findStatic cannot read is not static.
func (m *module) findStatic(code []byte) {
	defined := len(m.funcTypes) - int(m.importedFuncs)
	m.static = make([]bool, defined)
	m.reserve = 0
	if m.sharedTables {
		return
	}
	// height is a function's height once known, notStatic if it is not
	// static; the direct calls of function i are calls[first[i]:first[i+1]].
	const notStatic = -1
	height := make([]int64, defined)
	first := make([]int, defined+1)
	var calls []uint32
	r := &reader{b: code}
	n := r.u32()
	i := 0
	for ; i < defined && uint32(i) < n && r.err == nil; i++ {
		first[i] = len(calls)
		body := &reader{b: r.bytes(r.u32())}
		params := len(m.types[m.funcTypes[int(m.importedFuncs)+i]].params)
		frame, ok := m.staticFrame(body, params, &calls)
		if !ok {
			height[i] = notStatic
			calls = calls[:first[i]]
			continue
		}
		height[i] = frame
	}
	for ; i < defined; i++ {
		first[i] = len(calls)
		height[i] = notStatic
	}
	first[defined] = len(calls)
	for _, f := range m.entries {
		if f >= m.importedFuncs && int(f-m.importedFuncs) < defined {
			height[f-m.importedFuncs] = notStatic
		}
	}

	// A depth-first walk of the calls, without recursion (a chain of calls
	// may be as long as the module has functions): a function's height is
	// its frame plus the greatest of its callees', known once they are. A
	// callee still on the walk's path closes a cycle, and is not static
	// yet: neither is its caller, nor, through it, the rest of the cycle.
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, defined)
	type step struct {
		f    int
		next int // index in calls of the next callee to visit
		most int64
	}
	var path []step
	for root := range defined {
		if state[root] != unseen {
			continue
		}
		state[root] = onPath
		path = append(path[:0], step{f: root, next: first[root]})
		for len(path) > 0 {
			s := &path[len(path)-1]
			if height[s.f] != notStatic && s.next < first[s.f+1] {
				c := int(calls[s.next])
				s.next++
				switch state[c] {
				case unseen:
					state[c] = onPath
					path = append(path, step{f: c, next: first[c]})
				case onPath:
					height[s.f] = notStatic
				case done:
					if height[c] == notStatic {
						height[s.f] = notStatic
					} else {
						s.most = max(s.most, height[c])
					}
				}
				continue
			}
			f, h := s.f, height[s.f]
			if h != notStatic {
				if h += s.most; h > maxStaticHeight {
					h = notStatic
				}
			}
			height[f] = h
			state[f] = done
			path = path[:len(path)-1]
			if len(path) > 0 {
				p := &path[len(path)-1]
				if h == notStatic {
					height[p.f] = notStatic
				} else {
					p.most = max(p.most, h)
				}
			}
		}
	}
	for f, h := range height {
		if h != notStatic {
			m.static[f] = true
			m.reserve = max(m.reserve, int32(h))
		}
	}
}

// staticFrame reads a function body for findStatic: it appends the
// defined functions the body calls directly to calls, and returns the
// estimate of its frame; ok is false if the body cannot be static (it
// calls through a table or an import) or cannot be read.
func (m *module) staticFrame(r *reader, params int, calls *[]uint32) (frame int64, ok bool) {
	locals, err := r.locals()
	if err != nil {
		return 0, false
	}
	code := len(r.b)
	var results uint64
	for len(r.b) > 0 && r.err == nil {
		op, idx := r.instr()
		n, ok := m.results(op, idx)
		if !ok {
			return 0, false
		}
		results += n
		switch op {
		case 0x10, 0x12: // call, return_call
			if idx < m.importedFuncs {
				return 0, false
			}
			*calls = append(*calls, idx-m.importedFuncs)
		case 0x11, 0x13: // call_indirect, return_call_indirect
			return 0, false
		}
	}
	if r.err != nil {
		return 0, false
	}
	return int64(FrameBytes(uint64(params), locals, uint64(code), results)), true
}
