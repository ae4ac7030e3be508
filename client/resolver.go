package client

import (
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc/resolver"
)

// staticResolver resolves the gRPC naming scheme's "ipv4:" and "ipv6:"
// targets ("ipv4:10.0.0.1:50051,10.0.0.2:50051"), which grpc-go, unlike
// the C core and grpc-js, does not build in. It is installed per
// connection (grpc.WithResolvers), never registered globally.
type staticResolver struct{ scheme string }

func (b staticResolver) Scheme() string { return b.scheme }

func (b staticResolver) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	spec := target.URL.Opaque
	if spec == "" {
		spec = strings.TrimPrefix(target.URL.Path, "/")
	}
	var addrs []resolver.Address
	for _, a := range strings.Split(spec, ",") {
		if a == "" {
			continue
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("riptide-poold: target %s: %w", target.URL.String(), err)
		}
		ip := net.ParseIP(host)
		if ip == nil || (b.scheme == "ipv4") != (ip.To4() != nil) {
			return nil, fmt.Errorf("riptide-poold: target %s: %q is not an %s address", target.URL.String(), host, b.scheme)
		}
		addrs = append(addrs, resolver.Address{Addr: net.JoinHostPort(host, port)})
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("riptide-poold: target %s names no address", target.URL.String())
	}
	if err := cc.UpdateState(resolver.State{Addresses: addrs}); err != nil {
		return nil, err
	}
	return nopResolver{}, nil
}

// nopResolver has nothing to re-resolve: its addresses are fixed.
type nopResolver struct{}

func (nopResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (nopResolver) Close()                                {}
