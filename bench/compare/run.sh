#!/usr/bin/env bash
# Regenerates docs/COMPARE.md: riptide-poold against what users would pick
# instead (lxml, BeautifulSoup, cheerio, Readability.js, native Go), on the
# readability corpus, same machine, same run, as ratios, and the daemon
# under a few garbage collector settings. Writes the raw
# outputs to docs/dev/compare-*.txt and the plot to
# docs/compare-concurrency.png, printing every command it runs.
#
#   bench/compare/run.sh            # the full run (about 20 minutes on 2 cores)
#   QUICK=1 bench/compare/run.sh    # a smoke run: one round each, figures not for publishing
#
# Needs: go, node >= 20.19 and npm, and a python3 with Debian's
# python3-grpcio python3-grpc-tools python3-lxml python3-cssselect
# python3-bs4 (apt-get install -y ...). The daemon is built with
# `make build`; set RIPTIDE_BIN to use another binary, and RIPTIDE_SRC to
# build and run the Go benchmarks in another tree (e.g. a clean export of a
# commit, `git archive HEAD | tar -x -C DIR`, with RIPTIDE_SRC_REV naming it).
# Everything listens on 127.0.0.1 only, and every loop is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CORPUS=${RIPTIDE_CORPUS_DIR:-$(cd "$ROOT/.." && pwd)/shared/corpus/readability}
export RIPTIDE_CORPUS_DIR=$CORPUS
SRC=${RIPTIDE_SRC:-$ROOT}
GO=${GO:-go}
DEV=docs/dev
OUT=docs/COMPARE.md
PNG=docs/compare-concurrency.png

work=$(mktemp -d)
daemon_pid=""
cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" && wait "$daemon_pid" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# show prints a command as it would be typed from the repo root, to stderr
# and to the command log that the report quotes.
show() {
	local line="$*"
	line=${line//$work/\$WORK}
	line=${line//$CORPUS/\$CORPUS}
	line=${line//$ROOT\//}
	line=${line//$ROOT/.}
	echo "+ $line" >&2
	echo "$line" >>"$work/commands.txt"
}
# run shows a command and runs it; run_in does so in a directory.
run() {
	show "$@"
	"$@"
}
run_in() {
	local dir=$1
	shift
	show "(cd $dir && $*)"
	(cd "$dir" && "$@")
}

python=""
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import grpc, grpc_tools, lxml.html, lxml.cssselect, bs4' 2>/dev/null; then
		python=$p
		break
	fi
done
[ -n "$python" ] || { echo "compare: no python3 with grpc, grpc_tools, lxml, cssselect and bs4 (apt-get install -y python3-grpcio python3-grpc-tools python3-lxml python3-cssselect python3-bs4)" >&2; exit 1; }
[ -d "$CORPUS" ] || { echo "compare: no corpus at $CORPUS (set RIPTIDE_CORPUS_DIR)" >&2; exit 1; }

if [ -n "${QUICK:-}" ]; then
	R=1 RA=1 RART=0 T=0.1 SWEEP=1s REP=1 COUNT=1 BT=10x ABT=1x GCR=1
else
	R=7 RA=3 RART=1 T=0.3 SWEEP=2s REP=3 COUNT=10 BT=30x ABT=1s GCR=5
fi

rev=${RIPTIDE_SRC_REV:-$(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)}
echo "# daemon and Go benchmarks from $rev; $(uname -srm); $(nproc) cores; load average at start $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%d)" >"$work/env.txt"
grep -m1 'model name' /proc/cpuinfo | sed 's/^.*: /# cpu: /' >>"$work/env.txt" || true

# Build: the daemon, the Go programs, the Node dependencies.
if [ -z "${RIPTIDE_BIN:-}" ]; then
	run make -C "$SRC" build
	RIPTIDE_BIN=$SRC/bin/riptide-poold
fi
run_in bench/compare "$GO" build -o "$work/" ./gocompare ./plot
run_in bench/compare/node npm ci --no-audit --no-fund --loglevel=error

# The daemon, with its defaults, on a free loopback port.
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
show "GRPC_ADDR=$addr METRICS_ADDR= LOG_LEVEL=warn $RIPTIDE_BIN &"
GRPC_ADDR=$addr METRICS_ADDR= LOG_LEVEL=warn LOG_FORMAT=text "$RIPTIDE_BIN" 2>"$work/daemon.log" &
daemon_pid=$!
run "$work/gocompare" wait -addr "$addr"

# Each language's peers and the daemon from that language, one after the
# other, with the daemon otherwise idle.
run "$python" bench/compare/python/compare.py --addr "$addr" --corpus "$CORPUS" --daemon-pid "$daemon_pid" \
	--rounds "$R" --rounds-all "$RA" --target "$T" | tee "$DEV/compare-python.txt"
run node bench/compare/node/compare.js --addr "$addr" --corpus "$CORPUS" --daemon-pid "$daemon_pid" \
	--rounds "$R" --rounds-all "$RA" --article-rounds-all "$RART" --target "$T" | tee "$DEV/compare-node.txt"
run "$work/gocompare" articles -addr "$addr" -corpus "$CORPUS" -daemon-pid "$daemon_pid" \
	-rounds "$R" -rounds-all "$RART" | tee "$DEV/compare-go-articles.txt"
run "$work/gocompare" sweep -addr "$addr" -corpus "$CORPUS" -callers 1,2,4,8,16 -duration "$SWEEP" -repeat "$REP" | tee "$DEV/compare-sweep.txt"
run "$work/plot" -in "$DEV/compare-sweep.txt" -out "$PNG"

kill -TERM "$daemon_pid" && wait "$daemon_pid" || true
daemon_pid=""

# The garbage collector's settings: a daemon per setting, loaded in turn
# (gocompare starts and stops them).
run "$work/gocompare" gc -bin "$RIPTIDE_BIN" -corpus "$CORPUS" -callers 2 -duration "$SWEEP" -rounds "$GCR" \
	-variant GC_PERCENT=100 -variant GC_PERCENT=200 -variant GC_PERCENT=400 -variant GC_PERCENT=800 \
	-variant GC_PERCENT=400,MEMORY_LIMIT_MB=192 \
	-variant GC_PERCENT=100,WASM_POOL_ENABLED=false -variant GC_PERCENT=200,WASM_POOL_ENABLED=false \
	-variant GC_PERCENT=400,WASM_POOL_ENABLED=false -variant GC_PERCENT=800,WASM_POOL_ENABLED=false |
	tee "$DEV/compare-gc.txt"
run "$work/gocompare" parts -corpus "$CORPUS" -rounds "$R" | tee "$DEV/compare-go-parts.txt"

# The Go floor: gRPC vs in-process in one Go process (the daemon's own
# benchmark), and the native readability benchmarks.
run_in "$SRC" "$GO" test -run '^$' -bench 'BenchmarkExtractCorpus' -benchtime="$BT" -count="$COUNT" ./internal/server/ | tee "$DEV/compare-go-server.txt"
run_in "$SRC" "$GO" test -run '^$' -bench 'BenchmarkExtract$' -benchtime="$ABT" -count=3 ./internal/article/ | tee "$DEV/compare-go-article.txt"

cp "$work/env.txt" "$DEV/compare-env.txt"
cp "$work/commands.txt" "$DEV/compare-commands.txt"
run "$python" bench/compare/report.py --dev "$DEV" --out "$OUT" --plot "$PNG"
echo "compare: wrote $OUT, $PNG and $DEV/compare-*.txt" >&2
