package config_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/riptidecrawler/riptide-poold/internal/config"
)

// A daemon's main loads its configuration before anything else and stops
// with a non-zero status on any error.
func Example() {
	cfg, err := config.Load(os.Args[1:], os.Environ())
	switch {
	case errors.Is(err, config.ErrHelp):
		fmt.Print(config.FlagUsage())
		return // exit status 0
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return // os.Exit(2) in a real main
	case cfg.ShowVersion:
		fmt.Println("riptide-poold v0.0.0")
		return
	}
	// ... start the pools and servers with cfg.
}

func ExampleLoad() {
	cfg, err := config.Load(
		[]string{"--wasm-pool-size=4"},
		[]string{"WASM_POOL_SIZE=2", "LOG_LEVEL=debug", "GRPC_ADDR=unix:///run/riptide/pool.sock"},
	)
	if err != nil {
		panic(err)
	}
	network, address := cfg.GRPCListenAddr()
	fmt.Println(cfg.WASMPoolSize, cfg.LogLevel, network, address)
	// Output: 4 DEBUG unix /run/riptide/pool.sock
}

func ExampleLoad_errors() {
	_, err := config.Load(nil, []string{"WASM_POOL_SIZE=abc", "NATIVE_POOL_SIZE=50", "NATIVE_MAX_INSTANCES=10"})
	fmt.Println(err)

	var e *config.Error
	if errors.As(err, &e) {
		fmt.Println("first variable at fault:", e.Var)
	}
	// Output:
	// WASM_POOL_SIZE="abc": not an integer (accepted: 0..10000)
	// NATIVE_POOL_SIZE=50 exceeds NATIVE_MAX_INSTANCES=10 (min must be <= max)
	// first variable at fault: WASM_POOL_SIZE
}
