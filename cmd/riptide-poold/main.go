// Command riptide-poold is a gRPC extraction daemon that keeps warm pools of
// native CSS and regex extractors and sandboxed WebAssembly extractors.
//
// Configuration comes from defaults, a YAML file (--config), the environment
// and flags, in rising precedence; run with --help for every setting. The
// daemon stops gracefully on SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/daemon"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		// After the first signal, a second one ends the process at once,
		// as signals do by default.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is the whole program, with its inputs and outputs passed in so that
// tests can drive it. It returns the exit status.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(args, environ)
	switch {
	case errors.Is(err, config.ErrHelp):
		fmt.Fprint(stdout, config.FlagUsage())
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "riptide-poold: invalid configuration:\n%s\n", indent(err))
		return 2
	case cfg.ShowVersion:
		fmt.Fprintf(stdout, "riptide-poold %s\n", buildVersion())
		return 0
	}

	log := newLogger(cfg, stderr)
	log.Info("starting", "version", buildVersion(), "config", cfg)
	// The garbage collector's settings are the process's, so they are set
	// here, once, before any pool allocates.
	gc, err := planGC(cfg, envLookup(environ), memlimit.FromCgroup)
	if err != nil {
		log.Warn("garbage collector", "err", err)
	}
	gc.apply()
	logGC(log, gc)
	d, err := daemon.New(ctx, cfg, daemon.Options{Logger: log, Version: buildVersion()})
	if err != nil {
		log.Error("start-up failed", "err", err)
		return 1
	}
	if err := d.Listen(); err != nil {
		log.Error("start-up failed", "err", err)
		return 1
	}
	// SIGHUP reloads WASM_MODULES_DIR.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				d.Reload(ctx)
			}
		}
	}()
	served := make(chan struct{})
	defer close(served)
	go backstop(ctx, served, cfg.ShutdownGrace+2*daemon.StopBound, log)
	if err := d.Serve(ctx); err != nil {
		log.Error("stopped on error", "err", err)
		return 1
	}
	return 0
}

// backstop ends the process if shutdown, which starts when ctx ends, has
// not finished (served closed) within bound. Shutdown bounds itself at
// SHUTDOWN_GRACE_MS plus daemon.StopBound; this is the guarantee should a
// step of it block all the same, since a goroutine cannot be killed.
func backstop(ctx context.Context, served <-chan struct{}, bound time.Duration, log *slog.Logger) {
	select {
	case <-served:
		return
	case <-ctx.Done():
	}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-served:
	case <-t.C:
		log.Error("shutdown overran its bound; exiting now", "bound", bound.String())
		os.Exit(1)
	}
}

// newLogger returns the structured logger LOG_LEVEL and LOG_FORMAT ask for.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogFormatText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// buildVersion is the version set at link time, else the module version
// the go command recorded, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// indent renders a joined error one problem per line.
func indent(err error) string {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return "  " + err.Error()
	}
	var out string
	for i, e := range joined.Unwrap() {
		if i > 0 {
			out += "\n"
		}
		out += "  " + e.Error()
	}
	return out
}
