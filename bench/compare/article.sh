#!/usr/bin/env bash
# The article comparison of docs/COMPARE.md: the daemon's bundled `article`
# module on each engine (ARTICLE_ENGINE=wasm and =native, two daemons side
# by side) against Readability.js (JSDOMParser, linkedom, jsdom) from Node
# and readability-lxml from Python, one caller, on the readability corpus,
# same run. Writes docs/dev/compare-article-{node,python}.txt; run.sh calls
# it, and report.py renders it. Alone:
#
#   bench/compare/article.sh            # about 5 minutes on 2 idle cores
#   QUICK=1 bench/compare/article.sh    # a smoke run, figures not for publishing
#   ROUNDS=3 bench/compare/article.sh   # fewer passes (default 5)
#
# Needs what run.sh needs, and Debian's python3-readability. RIPTIDE_BIN
# names the daemon binary (default: make build's). Everything listens on
# 127.0.0.1 only, and every loop is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CORPUS=${RIPTIDE_CORPUS_DIR:-$(cd "$ROOT/.." && pwd)/shared/corpus/readability}
DEV=docs/dev
python=/usr/bin/python3
"$python" -c 'import grpc, grpc_tools, lxml.html, readability' 2>/dev/null ||
	{ echo "article.sh: $python lacks grpc, grpc_tools, lxml or readability (apt-get install -y python3-grpcio python3-grpc-tools python3-lxml python3-readability)" >&2; exit 1; }
[ -d "$CORPUS" ] || { echo "article.sh: no corpus at $CORPUS (set RIPTIDE_CORPUS_DIR)" >&2; exit 1; }

if [ -n "${QUICK:-}" ]; then
	R=1 RA=1 T=0.1 PR=1
else
	R=5 RA=${ROUNDS:-5} T=0.3 PR=${ROUNDS:-5}
fi

pids=()
work=$(mktemp -d)
cleanup() {
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${RIPTIDE_BIN:-}" ]; then
	echo "+ make build" >&2
	make build >&2
	RIPTIDE_BIN=$ROOT/bin/riptide-poold
fi
if [ ! -d bench/compare/node/node_modules ]; then
	(cd bench/compare/node && npm ci --no-audit --no-fund --loglevel=error)
fi

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start ENGINE: a daemon with its defaults and ARTICLE_ENGINE=ENGINE on a
# free loopback port; sets addr and pid.
start() {
	local port
	port=$(free_port)
	addr=127.0.0.1:$port
	echo "+ ARTICLE_ENGINE=$1 GRPC_ADDR=$addr METRICS_ADDR= LOG_LEVEL=warn $RIPTIDE_BIN &" >&2
	ARTICLE_ENGINE=$1 GRPC_ADDR=$addr METRICS_ADDR= LOG_LEVEL=warn LOG_FORMAT=text "$RIPTIDE_BIN" 2>"$work/daemon-$1.log" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 200); do
		"$python" -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $port)))" && return
		sleep 0.1
	done
	echo "article.sh: the $1 daemon did not listen; its log:" >&2
	cat "$work/daemon-$1.log" >&2
	exit 1
}
start wasm
wasm_addr=$addr wasm_pid=$pid
start native
native_addr=$addr native_pid=$pid

echo "+ node bench/compare/node/compare.js --only article --addr $wasm_addr --native-addr $native_addr ..." >&2
node bench/compare/node/compare.js --only article --addr "$wasm_addr" --native-addr "$native_addr" \
	--daemon-pid "$wasm_pid" --native-daemon-pid "$native_pid" --corpus "$CORPUS" \
	--rounds "$R" --article-rounds-all "$RA" --target "$T" | tee "$DEV/compare-article-node.txt"
echo "+ $python bench/compare/python/article.py --addr $wasm_addr --native-addr $native_addr ..." >&2
"$python" bench/compare/python/article.py --addr "$wasm_addr" --native-addr "$native_addr" \
	--daemon-pid "$wasm_pid" --native-daemon-pid "$native_pid" --corpus "$CORPUS" --rounds "$PR" |
	tee "$DEV/compare-article-python.txt"
