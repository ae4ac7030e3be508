package pool

import "github.com/riptidecrawler/riptide-poold/internal/clock"

// Clock is the pool's source of time. Production code leaves Config.Clock nil
// and gets the runtime's monotonic clock; tests pass a fake (package
// clock/clocktest) to drive idle timeouts, lifetimes, checkout timeouts and
// the health loop without sleeping.
type Clock = clock.Clock

// Timer is the part of *time.Timer the pool uses.
type Timer = clock.Timer
