// Package lease keeps the table of checkout leases: pooled instances that a
// gRPC client holds across calls. A client cannot hold a Go value, so the
// server checks an instance out of its pool, hands it to Table.Add, and gives
// the client the lease's ID; later calls name the ID and run on the instance
// through Table.Use until the client releases the lease or it expires.
//
// The package knows nothing of gRPC or of what it holds beyond the Held
// interface, which *pool.Handle already satisfies.
//
// # Lifecycle
//
// A lease is live from Add until it ends, which happens exactly once and in
// one of four ways: Release (the instance goes back to its pool),
// Release with discard (the instance is closed as unhealthy), expiry (the
// instance goes back to its pool and Config.OnExpired is called) or Close
// (the instance goes back to its pool). The ID of an ended lease is
// forgotten, so it answers ErrNotFound like any unknown ID.
//
// A lease expires once the clock reaches its ExpiresAt: from that moment
// Get, Use, Renew and Release answer ErrNotFound, even before the reaper has
// returned its instance. Renew moves ExpiresAt to now plus a TTL; a Renew
// that lands before the expiry wins over a reaper that has not yet ended the
// lease.
//
// # Concurrency
//
// Each lease has a one-slot semaphore, its token. Use holds the token while
// its callback runs, so calls on one lease are serialized; whoever ends a
// lease (Release, the reaper, Close) also takes the token first, so an
// instance is never returned to its pool while a call is running on it.
// Waiting for the token honours the caller's context, and a waiter whose
// lease ends meanwhile wakes at once.
//
// The table's mutex guards only the map and the books (a few field updates);
// it is never held while waiting for a token, running a callback, or
// calling into a Held or Config.OnExpired. Use on a live lease takes the
// mutex twice, reads the clock once and does not allocate.
//
// # Expiry
//
// A reaper goroutine scans the table when the earliest lease is due, and at
// least every Config.ReapInterval; Add and Renew wake it early when they set
// an expiry before its next wake-up. The scan is linear in the number of
// leases, which is bounded by the pools' sizes. An expired lease whose token
// is free is ended in the scan; one with a call in flight is handed to a
// goroutine that waits for the token and ends the lease then, unless a Renew
// got there first. A Use or Release that finds its lease expired ends it on
// the spot, with the same effects as the reaper.
package lease
