package client

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc/codes"
)

// EventFilter chooses the events of a subscription: Kinds (empty: all but
// INSTANCE_CHECKED_OUT and INSTANCE_RETURNED), Pools (empty: all), and the
// daemon-side BufferSize (0: the daemon's default).
type EventFilter struct {
	Kinds      []poolv1.EventKind
	Pools      []string
	BufferSize uint32
}

// maxResubscribes bounds how many times in a row Events reopens a stream
// that ended UNAVAILABLE without delivering an event.
const maxResubscribes = 5

// Events streams the pool events of one replica until ctx is done (no
// default deadline applies: a subscription is meant to last). It yields
// each event, or a final error. A stream that ends UNAVAILABLE (the
// daemon's MAX_CONNECTION_AGE_MS, or a replica going away) is reopened,
// on the next replica, after a short backoff; events between the two are
// not seen. Breaking out of the loop ends the stream.
//
//	for ev, err := range c.Events(ctx, client.EventFilter{}) {
//		if err != nil { ... }
//		fmt.Println(ev.GetPool(), ev.GetKind())
//	}
func (c *Client) Events(ctx context.Context, f EventFilter) iter.Seq2[*poolv1.PoolEvent, error] {
	return func(yield func(*poolv1.PoolEvent, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		req := &poolv1.PoolEventsRequest{Kinds: f.Kinds, Pools: f.Pools, BufferSize: f.BufferSize}
		for failures := 0; ; {
			stream, err := c.caller.rpc.PoolEvents(ctx, req, c.caller.callOpts...)
			for err == nil {
				var resp *poolv1.PoolEventsResponse
				if resp, err = stream.Recv(); err == nil {
					failures = 0
					if !yield(resp.GetEvent(), nil) {
						return
					}
				}
			}
			if errors.Is(err, io.EOF) {
				return // the daemon ended the stream: it is draining
			}
			code, _, _ := reasonOf(err)
			if failures++; code != codes.Unavailable || failures > maxResubscribes || ctx.Err() != nil {
				yield(nil, asError(err, failures))
				return
			}
			t := time.NewTimer(backoff(failures))
			select {
			case <-ctx.Done():
				t.Stop()
				yield(nil, asError(ctx.Err(), failures))
				return
			case <-t.C:
			}
		}
	}
}
