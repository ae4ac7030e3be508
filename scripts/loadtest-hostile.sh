#!/usr/bin/env bash
# The article module's throughput and p99 with a hostile module under load
# beside it, as ratios to article alone in the same run (issue 15; the
# figures are in docs/LOAD.md).
#
#   scripts/loadtest-hostile.sh            # report on stdout and in docs/dev/loadtest-hostile.txt
#
# One daemon with the default configuration and a WASM_MODULES_DIR of two
# hostile modules from internal/wasm/testdata: hog (slow.wasm: every call
# answers OK after HOSTILE_HOG_ITER M interruptible loop iterations, a few
# hundred ms) and spin (loop.wasm: every call loops until its deadline).
# Rounds alternate: article alone, article beside HOSTILE_CALLERS callers
# of hog, alone, beside spin, alone. Each article round is ghz -c
# HOSTILE_ARTICLE_C -n HOSTILE_ARTICLE_N on the corpus page of median size;
# the hostile callers run ghz for as long as it lasts. Every daemon this
# script starts is stopped by its pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

article_c=${HOSTILE_ARTICLE_C:-8}
article_n=${HOSTILE_ARTICLE_N:-300}
callers=${HOSTILE_CALLERS:-50}
hog_iter=${HOSTILE_HOG_ITER:-4}
corpus=${RIPTIDE_CORPUS_DIR:-$PWD/../shared/corpus/readability}
report=${HOSTILE_REPORT:-docs/dev/loadtest-hostile.txt}
ghz=${GHZ:-$PWD/.tools/bin/ghz}
daemon_bin=$PWD/bin/riptide-poold
[ -x "$daemon_bin" ] || make build
[ -x "$ghz" ] || make "$ghz"

work=$(mktemp -d)
daemon_pid=""
hostile_pid=""
cleanup() {
  [ -n "$hostile_pid" ] && kill "$hostile_pid" 2>/dev/null || true
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/loadctl" ./scripts/loadtest/loadctl
"$work/loadctl" reqs -corpus "$corpus" -out "$work/reqs" >"$work/corpus.txt"
mkdir "$work/modules"
cp internal/wasm/testdata/slow.wasm "$work/modules/hog.wasm"
cp internal/wasm/testdata/loop.wasm "$work/modules/spin.wasm"
exec > >(tee "$report") 2>&1

log=$work/daemon.log
env GRPC_ADDR=127.0.0.1:0 METRICS_ADDR=127.0.0.1:0 LOG_FORMAT=text WASM_MODULES_DIR="$work/modules" \
  WASM_COMPILATION_CACHE_DIR="$PWD/.tools/wazero-load-cache" "$daemon_bin" >"$log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1200); do
  grep -q 'msg=serving' "$log" && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
grpc=$(sed -n 's/.*msg="gRPC listening" addr=\([^ ]*\).*/\1/p' "$log")

ghz_common=(--insecure --proto proto/riptide/pool/v1/pool.proto -i proto --call riptide.pool.v1.PoolService/Extract -t 30s)
hostile_doc() { python3 -c "import json,sys; print(json.dumps({'html': 'x'*int(sys.argv[2]), 'wasm': {'module': sys.argv[1]}}))" "$@"; }

# article ROUND: one ghz run of the article module; prints its figures.
article() {
  "$ghz" "${ghz_common[@]}" -B "$work/reqs/wasm-median.bin" -c "$article_c" -n "$article_n" \
    --connections 4 -O json "$grpc" >"$work/$1.json" || true
  python3 - "$1" "$work/$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
p99 = next((d["latency"] for d in r.get("latencyDistribution") or [] if d["percentage"] == 99), 0)
print(f"{sys.argv[1]:<14} article calls/s {r['rps']:7.1f}  p99 {p99/1e6:8.1f} ms  statuses {r.get('statusCodeDistribution')}")
PY
}

# beside MODULE ITER ROUND: article while CALLERS callers keep MODULE busy.
beside() {
  "$ghz" "${ghz_common[@]}" -d "$(hostile_doc "$1" "$2")" -c "$callers" -z 10m --connections 4 -O json "$grpc" \
    >"$work/$3-hostile.json" 2>/dev/null &
  hostile_pid=$!
  sleep 3
  article "$3"
  kill -INT "$hostile_pid" 2>/dev/null || true
  wait "$hostile_pid" 2>/dev/null || true
  hostile_pid=""
  python3 - "$1" "$work/$3-hostile.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[2]))
    print(f"{'':<14} {sys.argv[1]} beside: {r['count']} calls, mean {r['average']/1e6:.0f} ms, statuses {r.get('statusCodeDistribution')}")
except Exception as e:
    print("  (no hostile report:", e, ")")
PY
  sleep 2
}

echo "# riptide-poold hostile-module load, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(git rev-parse --short HEAD)"
echo "# article: ghz -c $article_c -n $article_n, $(cat "$work/corpus.txt"); hostile: $callers callers (hog $hog_iter M iterations per call)"
article warmup >/dev/null
article alone-1
beside hog "$hog_iter" hog-1
article alone-2
beside spin 1 spin-1
article alone-3
beside hog "$hog_iter" hog-2
grep -c 'circuit breaker changed state' "$log" | sed 's/^/breaker state changes logged: /'
grep 'pool entered a condition\|module demoted' "$log" | head -5 || true
