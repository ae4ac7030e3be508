#!/usr/bin/env bash
# What each client library adds over its language's generated stub (docs/CLIENTS.md,
# "Overhead"): the same css question (every link's href) about the
# readability corpus's median page, to one daemon on loopback.
#   Go: BenchmarkOverhead (client/bench_test.go), raw and client in one run, benchstat;
#   Python and Node: raw stub and client alternated in rounds, medians.
#
#   scripts/clients-overhead.sh      (after make build and make clients-test)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
corpus=${RIPTIDE_CORPUS_DIR:-../shared/corpus/readability}
page=$(ls -S "$corpus"/*/source.html | awk -v n="$(ls "$corpus"/*/source.html | wc -l)" 'NR==int((n+1)/2)')
echo "page: $page ($(wc -c <"$page") bytes)"

"$GO" test -run '^$' -bench Overhead -benchtime=300ms -count=6 ./client/ | tee /tmp/clients-overhead-go.txt
.tools/bin/benchstat -col /.name /tmp/clients-overhead-go.txt 2>/dev/null || .tools/bin/benchstat /tmp/clients-overhead-go.txt

log=$(mktemp)
GRPC_ADDR=127.0.0.1:0 METRICS_ADDR= NATIVE_POOL_SIZE=4 WASM_POOL_ENABLED=false LOG_FORMAT=json bin/riptide-poold 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 300); do grep -q '"msg":"serving"' "$log" && break; sleep 0.1; done
addr=$(grep '"msg":"gRPC listening"' "$log" | sed -E 's/.*"addr":"([^"]*)".*/\1/')
PYTHONPATH=clients/python/src /usr/bin/python3 clients/python/bench_overhead.py "$addr" "$page" 20 50
(cd clients/node && node bench/overhead.mjs "$addr" "$page" 20 50)
