#!/bin/bash
# start-cpu.sh BINARY CACHE_DIR: starts the daemon with default pools and
# the given compilation cache, waits for its "serving" log line, and prints
# its start-up time with the CPU time the process had used by then (from
# /proc/PID/stat, so Linux only). The first run on an empty CACHE_DIR fills
# the cache; the runs after it measure a warm start. Alternate two builds,
# each with its own cache, to compare them on a busy machine: wall time
# there is mostly noise, CPU time much less.
set -euo pipefail
bin=$1 cache=$2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
WASM_COMPILATION_CACHE_DIR=$cache GRPC_ADDR=127.0.0.1:0 METRICS_ADDR= LOG_FORMAT=text "$bin" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 3000); do
	grep -q 'msg=serving' "$log" && break
	sleep 0.01
done
read -r -a stat </proc/$pid/stat
ticks=$(getconf CLK_TCK)
echo "$(grep -o 'startup=[^ ]*' "$log") cpu=$(((stat[13] + stat[14]) * 1000 / ticks))ms"
kill "$pid"
wait "$pid" 2>/dev/null || true
