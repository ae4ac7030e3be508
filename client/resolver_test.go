package client

import (
	"net/url"
	"slices"
	"testing"

	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"
)

type recordingConn struct {
	resolver.ClientConn
	addrs []string
}

func (c *recordingConn) UpdateState(s resolver.State) error {
	for _, a := range s.Addresses {
		c.addrs = append(c.addrs, a.Addr)
	}
	return nil
}

func (c *recordingConn) ParseServiceConfig(string) *serviceconfig.ParseResult { return nil }

func TestStaticResolver(t *testing.T) {
	tests := []struct {
		target string
		want   []string // nil: an error
	}{
		{"ipv4:127.0.0.1:1,127.0.0.2:2", []string{"127.0.0.1:1", "127.0.0.2:2"}},
		{"ipv4:127.0.0.1:1", []string{"127.0.0.1:1"}},
		{"ipv6:[::1]:1,[fe80::1]:2", []string{"[::1]:1", "[fe80::1]:2"}},
		{"ipv4:[::1]:1", nil},
		{"ipv6:127.0.0.1:1", nil},
		{"ipv4:host:1", nil},
		{"ipv4:127.0.0.1", nil},
		{"ipv4:", nil},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.target)
		if err != nil {
			t.Fatal(err)
		}
		cc := &recordingConn{}
		_, err = staticResolver{u.Scheme}.Build(resolver.Target{URL: *u}, cc, resolver.BuildOptions{})
		if tt.want == nil {
			if err == nil {
				t.Errorf("%s: resolved to %v, want an error", tt.target, cc.addrs)
			}
			continue
		}
		if err != nil || !slices.Equal(cc.addrs, tt.want) {
			t.Errorf("%s: %v %v, want %v", tt.target, cc.addrs, err, tt.want)
		}
	}
}
