package grpcwire

import "github.com/riptidecrawler/riptide-poold/client/bufpool"

// Pool is the buffer pool that the daemon and its Go clients share; it is
// public (client/bufpool) so that clients outside this module can use it.
type Pool = bufpool.Pool

// NewPool returns a Pool whose largest class holds maxMessage bytes.
func NewPool(maxMessage int) *Pool { return bufpool.New(maxMessage) }
