package lograte

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	type line struct {
		key   string
		after time.Duration // since the previous line
		level slog.Level
	}
	many := func(key string, n int, every time.Duration) []line {
		ls := make([]line, n)
		for i := range ls {
			ls[i] = line{key: key, after: every}
		}
		return ls
	}
	tests := []struct {
		name  string
		lines []line
		want  []string // the lines written, as "key suppressed" ("a 0": no count)
	}{
		{"under the burst", many("a", 3, time.Second), []string{"a 0", "a 0", "a 0"}},
		{"over the burst in one window", many("a", 5, time.Second), []string{"a 0", "a 0", "a 0"}},
		{
			"the next window counts what was dropped",
			append(many("a", 6, time.Second), line{key: "a", after: 10 * time.Second}),
			[]string{"a 0", "a 0", "a 0", "a 3"},
		},
		{
			"keys have windows of their own",
			append(many("a", 4, 0), many("b", 4, 0)...),
			[]string{"a 0", "a 0", "a 0", "b 0", "b 0", "b 0"},
		},
		{
			"lines below the level are not counted",
			append(many("a", 2, 0), line{key: "a", level: slog.LevelDebug}, line{key: "a"}),
			[]string{"a 0", "a 0", "a 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			now := time.Unix(1e9, 0)
			l := &Limiter{
				Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
					ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
						if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
							return slog.Attr{}
						}
						return a
					},
				})),
				Burst:  3,
				Window: 10 * time.Second,
				Now:    func() time.Time { return now },
			}
			for _, ln := range tt.lines {
				now = now.Add(ln.after)
				l.LogAttrs(context.Background(), ln.level, ln.key, "event", slog.String("key", ln.key))
			}
			var got []string
			for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if s == "" {
					continue
				}
				key, suppressed := "", "0"
				for _, f := range strings.Fields(s) {
					if v, ok := strings.CutPrefix(f, "key="); ok {
						key = v
					}
					if v, ok := strings.CutPrefix(f, "suppressed="); ok {
						suppressed = v
					}
				}
				got = append(got, key+" "+suppressed)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("written %q, want %q", got, tt.want)
			}
		})
	}
}
