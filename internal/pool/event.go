package pool

import "time"

// EventKind says what happened to a pool.
type EventKind uint8

// Event kinds, in rough lifecycle order.
const (
	EventCreated           EventKind = iota + 1 // an item was created (Duration: factory time)
	EventCreateFailed                           // the factory returned an error (Err)
	EventDestroyed                              // an item was closed (Reason, Detail, Err)
	EventCheckedOut                             // an item was handed out (Duration: time waited)
	EventReturned                               // an item went back to the pool after Release
	EventHealthCheckFailed                      // IsHealthy returned false; a Destroyed event follows
	EventExhausted                              // a Checkout found the pool at MaxSize and queued (Waiters)
)

var eventKindNames = [...]string{
	EventCreated:           "created",
	EventCreateFailed:      "create_failed",
	EventDestroyed:         "destroyed",
	EventCheckedOut:        "checked_out",
	EventReturned:          "returned",
	EventHealthCheckFailed: "health_check_failed",
	EventExhausted:         "exhausted",
}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "unknown"
}

// Event describes one change in a pool. It is passed by value so that
// publishing costs no allocation; fields that do not apply to Kind are zero.
type Event struct {
	Kind     EventKind
	Pool     string        // Config.Name
	ItemID   uint64        // the item concerned; 0 for EventCreateFailed and EventExhausted
	Reason   DestroyReason // EventDestroyed
	Detail   string        // EventDestroyed with ReasonDiscarded: the caller's reason
	Waiters  int           // EventExhausted: callers queued, this one included
	Duration time.Duration // EventCreated: factory time; EventCheckedOut: time waited
	Err      error         // EventCreateFailed, and EventDestroyed after a failed Reset
	Time     time.Time
}
