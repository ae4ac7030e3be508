package daemon

import (
	"context"
	"runtime/debug"
	"strings"

	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc"
)

// exempt reports whether a method keeps answering while the daemon drains:
// health checks and reflection, so that probes see NOT_SERVING rather than an
// error.
func exempt(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.")
}

// unaryGuard refuses new calls while draining and turns a panic into an
// INTERNAL status, so that one bad request never takes the daemon down.
func (d *Daemon) unaryGuard(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	if exempt(info.FullMethod) {
		return handler(ctx, req)
	}
	// Count the call before checking the flag, so that shutdown, which sets
	// the flag before it waits for the count to reach zero, never misses a
	// call that got past the check.
	d.inflight.add(info.FullMethod, 1)
	defer d.inflight.add(info.FullMethod, -1)
	if d.draining.Load() {
		return nil, server.ShuttingDown()
	}
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
			resp, err = nil, server.Panicked(info.FullMethod)
		}
	}()
	return handler(ctx, req)
}

// streamGuard is unaryGuard for streams.
func (d *Daemon) streamGuard(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	if d.draining.Load() && !exempt(info.FullMethod) {
		return server.ShuttingDown()
	}
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("panic in stream handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
			err = server.Panicked(info.FullMethod)
		}
	}()
	return handler(srv, ss)
}
