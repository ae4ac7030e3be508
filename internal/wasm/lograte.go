package wasm

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Log lines about one module are rate-limited: a module that fails on every
// call, or whose every new instance is unhealthy, would otherwise write a
// line per failure, as fast as the host can make instances. Each module may
// write logBurst lines per logWindow; the first line after a quiet spell
// says how many were suppressed.
const (
	logBurst  = 10
	logWindow = 10 * time.Second
)

// logLimiter rate-limits log lines by module.
type logLimiter struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	modules map[string]*logWindowState
}

type logWindowState struct {
	start      time.Time
	written    int
	suppressed int
}

func newLogLimiter(log *slog.Logger, now func() time.Time) *logLimiter {
	return &logLimiter{log: log, now: now, modules: make(map[string]*logWindowState)}
}

// logAttrs writes a line about module unless its budget for the current
// window is spent, in which case the line is only counted.
func (l *logLimiter) logAttrs(ctx context.Context, level slog.Level, module, msg string, attrs ...slog.Attr) {
	if !l.log.Enabled(ctx, level) {
		return
	}
	now := l.now()
	l.mu.Lock()
	w := l.modules[module]
	if w == nil {
		w = &logWindowState{start: now}
		l.modules[module] = w
	}
	if now.Sub(w.start) >= logWindow {
		w.start, w.written = now, 0
	}
	if w.written >= logBurst {
		w.suppressed++
		l.mu.Unlock()
		return
	}
	w.written++
	suppressed := w.suppressed
	w.suppressed = 0
	l.mu.Unlock()
	attrs = append(attrs, slog.String("module", module))
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	l.log.LogAttrs(ctx, level, msg, attrs...)
}
