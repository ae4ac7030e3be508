// Package pool is a generic, bounded pool of expensive reusable items: the
// parsers and WASM instances behind riptide-poold's extractors. It knows
// nothing of what it pools beyond the Poolable interface.
//
// # Lifecycle
//
// New starts creating MinSize items in the background (WaitReady waits for
// them). Checkout hands out an idle item, creates one while fewer than
// MaxSize are alive, or queues the caller; queued callers are served in
// FIFO order. Handle.Release resets the item and returns it; Handle.Discard
// closes it. Items are recycled after MaxUses checkouts or MaxLifetime, idle
// items above MinSize are closed after IdleTimeout, and a sweep every
// HealthInterval probes idle items and refills the pool to MinSize. Close
// stops everything and closes every item exactly once.
//
// # Structure, and why the hot path is fast
//
// One sync.Mutex (Pool.mu) guards the books: the idle stack, the FIFO of
// waiters and the counts of items in use, idle, being created, probed or
// closed. It is held only for a few pointer moves and never across a call
// into an item, the factory or OnEvent. Checkout of an idle item takes it
// once, Release once; neither allocates and neither reads the clock:
//
//   - Each item has exactly one Handle, allocated with the item and reused
//     for every checkout. Its atomic state word catches use after Release.
//   - Idle items form a LIFO stack, so the most recently used (and
//     cache-warm) item goes out first and surplus items age at the bottom,
//     where IdleTimeout can close them.
//   - Clock reads cost a third of the hot path on virtual machines, so the
//     background sweep keeps a coarse clock: Release compares an item's
//     age with the time of the last sweep, and an item returned to the idle
//     stack is stamped with its idle time by the first sweep that sees it.
//     IdleTimeout and MaxLifetime are thus enforced up to one sweep late,
//     never early. Only the slow paths (waiting, creating) read the clock.
//   - Counters touched on every checkout are plain fields under the mutex
//     the path already holds; the rest are atomics updated on slow paths.
//     Stats merges both under one brief lock and does not allocate.
//
// A caller that finds no idle item queues a waiter with a one-slot channel.
// Whoever makes an item available (Release, a finished creation, a health
// probe) hands it over under the lock, which pops the waiter, so every item
// reaches at most one holder. A waiter that gives up removes itself under
// the same lock; if it was already handed an item, it passes the item on to
// the next waiter or back to idle, so nothing is lost.
//
// # Creation
//
// Creations run in their own goroutines with a context that Close cancels,
// so a caller giving up never aborts a creation that another waiter needs,
// and a hanging factory delays Close only until Close's own deadline. The
// pool starts one creation per queued caller not already covered by one in
// flight (while below MaxSize), plus enough to reach MinSize. A factory
// error goes to the oldest waiter unless the other creations in flight
// cover every waiter, so each failure fails at most one caller; refilling
// to MinSize after a failure waits for an exponential backoff. The pool has
// no circuit breaker of its own: callers wrap the Factory.
//
// An item counts against MaxSize from the moment its creation is started
// until its Close returns, so MaxSize bounds the resources alive, not only
// the items on the books.
package pool
