#!/usr/bin/env bash
# What each client library adds over its language's generated stub
# (docs/CLIENTS.md, "Overhead over the generated stubs"): the same css
# question (every link's href) about the readability corpus's median page,
# to one daemon on loopback (bin/riptide-poold, shared by the three
# languages), four ways: the generated stub on the library's own
# connection ("stub"), the library ("client"), the generated stub on a
# connection with the gRPC library's defaults ("stock"), and the stub again
# ("twin": a control, whose difference from "stub" is the noise).
#
#   Go: BenchmarkOverhead (client/bench_test.go), one process per way and
#       round, the ways' order reversed every round; benchstat -col /way;
#   Python and Node: the ways alternated in rounds in one process, medians
#       and the quartiles of the per-round ratios.
# Then each language's own code per call, with a canned answer in place of
# the network and the daemon (Go: BenchmarkLibraryCode).
#
#   scripts/clients-overhead.sh [ROUNDS]   (after make build and make clients-test;
#                                           default 10 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
rounds=${1:-10}
corpus=$(realpath "${RIPTIDE_CORPUS_DIR:-../shared/corpus/readability}")
page=$(ls -S "$corpus"/*/source.html | awk -v n="$(ls "$corpus"/*/source.html | wc -l)" 'NR==int((n+1)/2)')
echo "page: $page ($(wc -c <"$page") bytes); commit $(git rev-parse --short HEAD)"
echo "start: $(uptime)"

log=$(mktemp)
work=$(mktemp -d)
GRPC_ADDR=127.0.0.1:0 METRICS_ADDR= NATIVE_POOL_SIZE=4 WASM_POOL_ENABLED=false LOG_FORMAT=json bin/riptide-poold 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$log" "$work"' EXIT
for _ in $(seq 1 300); do grep -q '"msg":"serving"' "$log" && break; sleep 0.1; done
addr=$(grep '"msg":"gRPC listening"' "$log" | sed -E 's/.*"addr":"([^"]*)".*/\1/')
[ -n "$addr" ] || { cat "$log"; exit 1; }

"$GO" test -c -o "$work/client.test" ./client/
ways=(stub client stock twin)
for ((r = 0; r < rounds; r++)); do
	for way in "${ways[@]}"; do
		(cd client && RIPTIDE_OVERHEAD_ADDR=$addr RIPTIDE_CORPUS_DIR=$corpus "$work/client.test" \
			-test.run '^$' -test.bench "^BenchmarkOverhead/way=$way\$" -test.benchtime=200ms -test.count=1) |
			grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"$work/go.txt"
	done
	ways=("${ways[3]}" "${ways[2]}" "${ways[1]}" "${ways[0]}")
done
.tools/bin/benchstat -col /way "$work/go.txt"
# The Go client's own code per call, a canned answer instead of the network.
(cd client && "$work/client.test" -test.run '^$' -test.bench '^BenchmarkLibraryCode$' -test.benchtime=100ms -test.count=6) |
	grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >"$work/go-code.txt"
.tools/bin/benchstat -col /way "$work/go-code.txt"

PYTHONPATH=clients/python/src /usr/bin/python3 clients/python/bench_overhead.py "$addr" "$page" $((3 * rounds)) 50
(cd clients/node && node bench/overhead.mjs "$addr" "$page" $((3 * rounds)) 50)
echo "end: $(uptime)"
