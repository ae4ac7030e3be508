// Package lograte rate-limits log lines by key. A module that fails on
// every call, or two pools that keep taking memory from each other, would
// otherwise write a line per event, as fast as the events come: each key
// may write Burst lines per Window, and the first line it writes after
// lines were dropped says how many (the attribute "suppressed").
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Limiter writes log lines to Logger, at most Burst per Window for each
// key. Set its fields before first use; it is safe for concurrent use.
type Limiter struct {
	Logger *slog.Logger
	Burst  int
	Window time.Duration
	Now    func() time.Time // nil means time.Now

	mu   sync.Mutex
	keys map[string]*window
}

// window is one key's count of lines in its current window.
type window struct {
	start      time.Time
	written    int
	suppressed int
}

// LogAttrs writes a line for key, as slog.Logger.LogAttrs does, unless the
// key has written Burst lines in its current window; then the line is only
// counted. A line below the logger's level is neither written nor
// counted.
func (l *Limiter) LogAttrs(ctx context.Context, level slog.Level, key, msg string, attrs ...slog.Attr) {
	if !l.Logger.Enabled(ctx, level) {
		return
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	t := now()
	l.mu.Lock()
	if l.keys == nil {
		l.keys = make(map[string]*window)
	}
	w := l.keys[key]
	if w == nil || t.Sub(w.start) >= l.Window {
		if w == nil {
			w = new(window)
			l.keys[key] = w
		}
		w.start, w.written = t, 0
	}
	if w.written >= l.Burst {
		w.suppressed++
		l.mu.Unlock()
		return
	}
	w.written++
	suppressed := w.suppressed
	w.suppressed = 0
	l.mu.Unlock()
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	l.Logger.LogAttrs(ctx, level, msg, attrs...)
}
