// Command mergedata joins the data segments of a WebAssembly module that
// are close together (see package dataseg):
//
//	mergedata [-gap bytes] in.wasm out.wasm
//
// scripts/build-guest.sh runs it on the bundled article module.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/riptidecrawler/riptide-poold/internal/wasm/dataseg"
)

func main() {
	gap := flag.Int("gap", 1024, "join segments at most this many bytes apart")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: mergedata [-gap bytes] in.wasm out.wasm")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 || *gap < 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), *gap); err != nil {
		fmt.Fprintln(os.Stderr, "mergedata:", err)
		os.Exit(1)
	}
}

func run(in, out string, gap int) error {
	module, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	merged, st, err := dataseg.Merge(module, gap)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	fmt.Fprintf(os.Stderr, "mergedata: %s: %d data segments joined into %d (%d zero bytes added; %d to %d bytes)\n",
		in, st.Before, st.After, st.ZeroBytes, len(module), len(merged))
	return os.WriteFile(out, merged, 0o644)
}
