package deploy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/config"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int    // where it starts
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM and the instructions under it.
type stage struct {
	image, name string
	from        string // the FROM argument as written, ARGs unexpanded
	body        []instruction
}

// dockerfile is a parsed Dockerfile: its global ARG defaults and its stages.
type dockerfile struct {
	args   map[string]string
	stages []stage
}

// parseDockerfile parses the subset of the syntax the rules read: comments,
// parser directives, line continuations and instructions.
func parseDockerfile(src string) (*dockerfile, error) {
	df := &dockerfile{args: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(src))
	var cur strings.Builder
	start := 0
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			if len(f) == 0 {
				return fmt.Errorf("line %d: FROM without an image", in.line)
			}
			st := stage{image: df.expand(f[0]), from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			df.stages = append(df.stages, st)
		case len(df.stages) == 0:
			if in.cmd != "ARG" {
				return fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			name, def, _ := strings.Cut(in.args, "=")
			df.args[name] = def
		default:
			last := &df.stages[len(df.stages)-1]
			last.body = append(last.body, in)
		}
		return nil
	}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment or parser directive, also inside a continuation
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = n
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(df.stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return df, sc.Err()
}

var argRef = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)

// expand substitutes global ARG defaults, as FROM lines see them.
func (df *dockerfile) expand(s string) string {
	return argRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := argRef.FindStringSubmatch(ref)
		return df.args[m[1]+m[2]]
	})
}

func (df *dockerfile) final() *stage { return &df.stages[len(df.stages)-1] }

// all answers every instruction of every stage named cmd.
func (df *dockerfile) all(cmd string) []instruction {
	var out []instruction
	for _, st := range df.stages {
		for _, in := range st.body {
			if in.cmd == cmd {
				out = append(out, in)
			}
		}
	}
	return out
}

// env answers a stage's ENV settings (both KEY=VALUE and KEY VALUE forms).
func (st *stage) env() map[string]string {
	env := map[string]string{}
	for _, in := range st.body {
		if in.cmd != "ENV" {
			continue
		}
		if !strings.Contains(strings.Fields(in.args)[0], "=") {
			k, v, _ := strings.Cut(in.args, " ")
			env[k] = strings.TrimSpace(v)
			continue
		}
		for _, kv := range strings.Fields(in.args) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

// context is what the rules check a Dockerfile against.
type dockerContext struct {
	goVersion     string          // go.mod's toolchain directive, else its go directive
	makeTargets   map[string]bool // the Makefile's targets
	dockerignore  []string
	documentedEnv map[string]bool
}

// rule is one Dockerfile rule; it answers its violations.
type rule struct {
	name  string
	check func(df *dockerfile, ctx *dockerContext) []string
}

var uidGID = regexp.MustCompile(`^[0-9]+(:[0-9]+)?$`)

var dockerRules = []rule{
	{"base images are pinned", func(df *dockerfile, _ *dockerContext) (bad []string) {
		stages := map[string]bool{}
		for _, st := range df.stages {
			img := st.image
			switch {
			case img == "scratch" || stages[img]:
			case strings.Contains(img, "@sha256:"):
			default:
				_, tag, ok := strings.Cut(img[strings.LastIndex(img, "/")+1:], ":")
				if !ok || tag == "latest" || !strings.ContainsAny(tag, "0123456789") {
					bad = append(bad, fmt.Sprintf("FROM %s: pin a version tag or a digest", img))
				}
			}
			stages[st.name] = true
		}
		return bad
	}},
	{"the Go image is go.mod's Go", func(df *dockerfile, ctx *dockerContext) (bad []string) {
		for _, st := range df.stages {
			if rest, ok := strings.CutPrefix(st.image, "golang:"); ok {
				if v, _, _ := strings.Cut(rest, "-"); v != ctx.goVersion {
					bad = append(bad, fmt.Sprintf("FROM %s: go.mod says go %s", st.image, ctx.goVersion))
				}
			}
		}
		return bad
	}},
	{"the image runs as a numeric non-root user", func(df *dockerfile, _ *dockerContext) []string {
		user := ""
		for _, in := range df.final().body {
			if in.cmd == "USER" {
				user = in.args
			}
		}
		uid, _, _ := strings.Cut(user, ":")
		if !uidGID.MatchString(user) || uid == "0" {
			return []string{fmt.Sprintf("final stage USER %q: want a numeric non-root uid[:gid], so runAsNonRoot can verify it", user)}
		}
		return nil
	}},
	{"COPY, never ADD", func(df *dockerfile, _ *dockerContext) (bad []string) {
		for _, in := range df.all("ADD") {
			bad = append(bad, fmt.Sprintf("line %d: ADD %s: use COPY (ADD fetches URLs and unpacks archives)", in.line, in.args))
		}
		return bad
	}},
	{"WORKDIR is absolute", func(df *dockerfile, _ *dockerContext) (bad []string) {
		for _, in := range df.all("WORKDIR") {
			if !strings.HasPrefix(in.args, "/") {
				bad = append(bad, fmt.Sprintf("line %d: WORKDIR %s is relative", in.line, in.args))
			}
		}
		return bad
	}},
	{"the build runs the Makefile's targets", func(df *dockerfile, ctx *dockerContext) (bad []string) {
		built := false
		for _, in := range df.all("RUN") {
			f := strings.Fields(in.args)
			for i, w := range f {
				if w != "make" {
					continue
				}
				for _, arg := range f[i+1:] {
					if arg == "&&" || arg == ";" || arg == "||" {
						break
					}
					if strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
						continue
					}
					if !ctx.makeTargets[arg] {
						bad = append(bad, fmt.Sprintf("line %d: make %s: no such Makefile target", in.line, arg))
					}
					built = built || arg == "build"
				}
			}
			if strings.Contains(in.args, "go build") {
				bad = append(bad, fmt.Sprintf("line %d: go build directly: run `make build`, as CI does", in.line))
			}
		}
		if !built {
			bad = append(bad, "no RUN make build")
		}
		return bad
	}},
	{"the binary is static", func(df *dockerfile, _ *dockerContext) []string {
		for _, st := range df.stages[:len(df.stages)-1] {
			if st.env()["CGO_ENABLED"] == "0" {
				return nil
			}
		}
		return []string{"no build stage sets ENV CGO_ENABLED=0"}
	}},
	{"the final stage only copies", func(df *dockerfile, _ *dockerContext) (bad []string) {
		for _, in := range df.final().body {
			if in.cmd == "RUN" {
				bad = append(bad, fmt.Sprintf("line %d: RUN in the final stage: build in the build stage", in.line))
			}
		}
		return bad
	}},
	{"the final stage copies from the stage BINARY_SOURCE names", func(df *dockerfile, _ *dockerContext) (bad []string) {
		// Docker builds with `make build` in the image by default; CI builds
		// the same final stage from the binary make left in bin/
		// (scripts/image-check.sh). Both go through the one stage "binary".
		if df.args["BINARY_SOURCE"] != "build" {
			bad = append(bad, fmt.Sprintf("ARG BINARY_SOURCE=%q: want the default build, so a plain docker build compiles", df.args["BINARY_SOURCE"]))
		}
		names := map[string]string{}
		for _, st := range df.stages {
			names[st.name] = st.from
		}
		if _, ok := names["prebuilt"]; !ok {
			bad = append(bad, "no stage named prebuilt (the binary from the build context)")
		}
		if names["binary"] != "${BINARY_SOURCE}" && names["binary"] != "$BINARY_SOURCE" {
			bad = append(bad, "no stage `FROM ${BINARY_SOURCE} AS binary`")
		}
		for _, in := range df.final().body {
			if in.cmd != "COPY" {
				continue
			}
			for _, f := range strings.Fields(in.args) {
				if from, ok := strings.CutPrefix(f, "--from="); ok && from != "binary" {
					bad = append(bad, fmt.Sprintf("line %d: COPY --from=%s: copy from the stage binary, so both sources make the same image", in.line, from))
				}
			}
		}
		return bad
	}},
	{"no HEALTHCHECK", func(df *dockerfile, _ *dockerContext) (bad []string) {
		for _, in := range df.all("HEALTHCHECK") {
			bad = append(bad, fmt.Sprintf("line %d: HEALTHCHECK: Kubernetes' gRPC probes do that", in.line))
		}
		return bad
	}},
	{"the ports are exposed", func(df *dockerfile, _ *dockerContext) (bad []string) {
		var ports []string
		for _, in := range df.final().body {
			if in.cmd == "EXPOSE" {
				ports = append(ports, strings.Fields(in.args)...)
			}
		}
		for _, want := range []string{"50051", "9090"} {
			if !slices.Contains(ports, want) && !slices.Contains(ports, want+"/tcp") {
				bad = append(bad, "EXPOSE lacks "+want)
			}
		}
		return bad
	}},
	{"ENTRYPOINT and CMD are exec form", func(df *dockerfile, _ *dockerContext) (bad []string) {
		entry := false
		for _, in := range df.final().body {
			if in.cmd != "ENTRYPOINT" && in.cmd != "CMD" {
				continue
			}
			entry = entry || in.cmd == "ENTRYPOINT"
			var argv []string
			if json.Unmarshal([]byte(in.args), &argv) != nil || len(argv) == 0 {
				bad = append(bad, fmt.Sprintf("line %d: %s %s: use the JSON exec form, so SIGTERM reaches the daemon", in.line, in.cmd, in.args))
			}
		}
		if !entry {
			bad = append(bad, "no ENTRYPOINT")
		}
		return bad
	}},
	{"the compilation cache is writable by the user", func(df *dockerfile, _ *dockerContext) []string {
		final := df.final()
		dir := final.env()["WASM_COMPILATION_CACHE_DIR"]
		if !strings.HasPrefix(dir, "/") {
			return []string{fmt.Sprintf("final stage ENV WASM_COMPILATION_CACHE_DIR=%q: want an absolute path (a volume in Kubernetes)", dir)}
		}
		user := ""
		for _, in := range final.body {
			if in.cmd == "USER" {
				user = in.args
			}
		}
		for _, in := range final.body {
			if in.cmd == "COPY" && strings.Contains(in.args, "--chown="+user+" ") && strings.HasSuffix(in.args, " "+dir) {
				return nil
			}
		}
		return []string{fmt.Sprintf("nothing creates %s owned by %s in the final stage", dir, user)}
	}},
	{"ENV names documented variables", func(df *dockerfile, ctx *dockerContext) (bad []string) {
		for name := range df.final().env() {
			if !ctx.documentedEnv[name] {
				bad = append(bad, fmt.Sprintf("final stage ENV %s is not a documented variable", name))
			}
		}
		return bad
	}},
	{".dockerignore keeps local state out", func(_ *dockerfile, ctx *dockerContext) (bad []string) {
		for _, want := range []string{".git", "bin", ".tools", "internal/wasm/bundled/*.wasm"} {
			if !slices.Contains(ctx.dockerignore, want) {
				bad = append(bad, ".dockerignore lacks "+want)
			}
		}
		return bad
	}},
}

func loadDockerContext(t *testing.T) *dockerContext {
	t.Helper()
	ctx := &dockerContext{makeTargets: map[string]bool{}, documentedEnv: documented()}
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	// The image builds with the Go that make uses: go.mod's toolchain
	// directive (the Makefile exports it as GOTOOLCHAIN), else its go line.
	if m := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindSubmatch(gomod); m != nil {
		ctx.goVersion = string(m[1])
	} else if m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod); m != nil {
		ctx.goVersion = string(m[1])
	} else {
		t.Fatal("go.mod has no go directive")
	}
	makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^([A-Za-z][\w.-]*)\s*:([^=]|$)`).FindAllSubmatch(makefile, -1) {
		ctx.makeTargets[string(m[1])] = true
	}
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ignore), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ctx.dockerignore = append(ctx.dockerignore, line)
		}
	}
	return ctx
}

// TestDockerfile lints the repository's Dockerfile with every rule.
// (hadolint is not packaged for Debian; these are the rules this image
// relies on.)
func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df, err := parseDockerfile(string(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx := loadDockerContext(t)
	if !ctx.makeTargets["build"] || !ctx.makeTargets["wasm"] {
		t.Fatalf("read Makefile targets %v: the target parser is broken", ctx.makeTargets)
	}
	for _, r := range dockerRules {
		t.Run(r.name, func(t *testing.T) {
			for _, v := range r.check(df, ctx) {
				t.Error(v)
			}
		})
	}
}

// TestDockerfileRulesCatchViolations feeds each rule a Dockerfile that
// breaks it, so no rule passes by accident.
func TestDockerfileRulesCatchViolations(t *testing.T) {
	good := `# syntax=docker/dockerfile:1
ARG BINARY_SOURCE=build
ARG GO_VERSION=1.26.8
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY . .
RUN make build VERSION=1 && \
    mkdir -p /out/cache
FROM scratch AS prebuilt
COPY bin/riptide-poold /src/bin/riptide-poold
WORKDIR /out/cache
FROM ${BINARY_SOURCE} AS binary
FROM scratch
COPY --from=binary /src/bin/riptide-poold /riptide-poold
COPY --from=binary --chown=65532:65532 /out/cache /var/cache/riptide-poold
ENV WASM_COMPILATION_CACHE_DIR=/var/cache/riptide-poold
USER 65532:65532
EXPOSE 50051 9090
ENTRYPOINT ["/riptide-poold"]
`
	ctx := &dockerContext{
		goVersion:     "1.26.8",
		makeTargets:   map[string]bool{"build": true, "wasm": true},
		dockerignore:  []string{".git", "bin", ".tools", "internal/wasm/bundled/*.wasm"},
		documentedEnv: map[string]bool{"WASM_COMPILATION_CACHE_DIR": true},
	}
	check := func(src string) map[string][]string {
		df, err := parseDockerfile(src)
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, src)
		}
		out := map[string][]string{}
		for _, r := range dockerRules {
			if v := r.check(df, ctx); len(v) > 0 {
				out[r.name] = v
			}
		}
		return out
	}
	if v := check(good); len(v) > 0 {
		t.Fatalf("the good Dockerfile breaks rules: %v", v)
	}
	for _, tc := range []struct{ rule, old, new string }{
		{"base images are pinned", "FROM scratch", "FROM gcr.io/distroless/static-debian12:latest"},
		{"base images are pinned", "FROM scratch", "FROM gcr.io/distroless/static-debian12:nonroot"},
		{"the Go image is go.mod's Go", "GO_VERSION=1.26.8", "GO_VERSION=1.25.1"},
		{"the image runs as a numeric non-root user", "USER 65532:65532", "USER 0"},
		{"the image runs as a numeric non-root user", "USER 65532:65532", "USER nonroot"},
		{"COPY, never ADD", "COPY . .", "ADD https://example.com/x.tar.gz /src"},
		{"WORKDIR is absolute", "WORKDIR /src", "WORKDIR src"},
		{"the build runs the Makefile's targets", "make build", "make biuld"},
		{"the build runs the Makefile's targets", "make build VERSION=1", "go build ./cmd/riptide-poold"},
		{"the binary is static", "ENV CGO_ENABLED=0", "ENV CGO_ENABLED=1"},
		{"the final stage only copies", "USER 65532", "RUN true\nUSER 65532"},
		{"no HEALTHCHECK", "EXPOSE", "HEALTHCHECK CMD [\"/riptide-poold\", \"--version\"]\nEXPOSE"},
		{"the ports are exposed", "EXPOSE 50051 9090", "EXPOSE 50051"},
		{"ENTRYPOINT and CMD are exec form", `ENTRYPOINT ["/riptide-poold"]`, "ENTRYPOINT /riptide-poold"},
		{"the compilation cache is writable by the user", "--chown=65532:65532 ", ""},
		{"ENV names documented variables", "ENV WASM", "ENV WASM_POOL_SIZ=3 WASM"},
		{"the final stage copies from the stage BINARY_SOURCE names", "ARG BINARY_SOURCE=build", "ARG BINARY_SOURCE=prebuilt"},
		{"the final stage copies from the stage BINARY_SOURCE names", "FROM scratch AS prebuilt", "FROM scratch AS context"},
		{"the final stage copies from the stage BINARY_SOURCE names", "FROM ${BINARY_SOURCE} AS binary", "FROM build AS binary"},
		{"the final stage copies from the stage BINARY_SOURCE names", "COPY --from=binary /src", "COPY --from=build /src"},
	} {
		t.Run(tc.rule+"/"+tc.new, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("the good Dockerfile has no %q", tc.old)
			}
			if got := check(strings.Replace(good, tc.old, tc.new, 1)); got[tc.rule] == nil {
				t.Errorf("rule %q did not catch %q (violations: %v)", tc.rule, tc.new, got)
			}
		})
	}
}

var _ = config.Vars // documented() reads the daemon's variables
