// Package goclient shows how a Go program calls riptide-poold through the
// generated client, github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1.
// It has no code of its own: the examples are its documentation
// (go doc -all ./examples/goclient), and they run as tests against a daemon
// started in-process on loopback ports.
package goclient
