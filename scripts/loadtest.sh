#!/usr/bin/env bash
# Load and soak test of riptide-poold on loopback (issue 8, "Load and soak").
#
#   scripts/loadtest.sh load          # make loadtest: the concurrency matrix and the saturation checks
#   scripts/loadtest.sh soak [60s]    # make soak: mixed load for a duration, then the leak checks
#
# load: for each workload (native css, regex, fields, WASM article) and each
# document set (the corpus page of median size, and every page in turn), a
# fresh daemon with the default configuration on free loopback ports, then
# ghz at each concurrency of LOADTEST_CONCURRENCY, bounded in count
# (LOADTEST_N_NATIVE / LOADTEST_N_WASM, at least 2 calls per caller) and in
# time (LOADTEST_RUN_TIMEOUT per run). It records throughput, p50/p99,
# the status codes, the daemon's RSS (ps -o rss: peak during the run and
# after) and the pools' p99 checkout wait (GetMetrics). Then `loadctl check`
# replays each workload at concurrency 256 against the default
# configuration and against one made to saturate (one instance per pool,
# CHECKOUT_TIMEOUT_MS=50) and fails unless every call is OK or
# RESOURCE_EXHAUSTED POOL_EXHAUSTED with RetryInfo.
#
# soak: one daemon, a warm-up of all four workloads together, the figures
# after warm-up, the same mixed load for the duration, a quiet pause, and a
# check that RSS, goroutines and open fds are within 10% of their level
# after warm-up and every pool's in_use, leased and waiters are 0.
#
# The report goes to stdout and to docs/dev/loadtest-<mode>.txt. Every
# address is 127.0.0.1; every daemon this script starts is stopped by its
# pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-load}
soak_for=${2:-${SOAK_DURATION:-60s}}
concurrency=${LOADTEST_CONCURRENCY:-8 32 128 256}
workloads=${LOADTEST_WORKLOADS:-css regex fields wasm}
sets=${LOADTEST_SETS:-median mix}
n_native=${LOADTEST_N_NATIVE:-3000}
n_wasm=${LOADTEST_N_WASM:-300}
run_timeout=${LOADTEST_RUN_TIMEOUT:-120}
corpus=${RIPTIDE_CORPUS_DIR:-$PWD/../shared/corpus/readability}
report=${LOADTEST_REPORT:-docs/dev/loadtest-$mode.txt}

GHZ_VERSION=${GHZ_VERSION:-v0.93.0}
ghz=${GHZ:-$PWD/.tools/bin/ghz}
daemon_bin=$PWD/bin/riptide-poold

case $mode in
load | soak) ;;
*) echo "usage: $0 load | soak [duration]" >&2; exit 2 ;;
esac
[ -x "$daemon_bin" ] || make build
if [ ! -x "$ghz" ]; then
  GOBIN=$PWD/.tools/bin go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
fi

work=$(mktemp -d)
daemon_pid=""
sampler_pid=""
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/loadctl" ./scripts/loadtest/loadctl
loadctl=$work/loadctl
"$loadctl" reqs -corpus "$corpus" -out "$work/reqs" | tee "$work/corpus.txt"

exec > >(tee "$report") 2>&1

# start_daemon [VAR=value ...]: a daemon on free loopback ports with the
# default configuration plus the given settings; sets grpc, metrics and
# daemon_pid.
start_daemon() {
  local log=$work/daemon.log
  env GRPC_ADDR=127.0.0.1:0 METRICS_ADDR=127.0.0.1:0 LOG_FORMAT=text \
    WASM_COMPILATION_CACHE_DIR="$PWD/.tools/wazero-load-cache" "$@" \
    "$daemon_bin" >"$log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1200); do
    grep -q 'msg=serving' "$log" && break
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$log"; echo "daemon exited at start" >&2; exit 1; }
    sleep 0.1
  done
  grep -q 'msg=serving' "$log" || { cat "$log"; echo "daemon not serving within 120s" >&2; exit 1; }
  grpc=$(sed -n 's/.*msg="gRPC listening" addr=\([^ ]*\).*/\1/p' "$log")
  metrics=http://$(sed -n 's/.*msg="metrics listening" addr=\([^ ]*\).*/\1/p' "$log")/metrics
  case $grpc in 127.0.0.1:*) ;; *) echo "daemon not on loopback: $grpc" >&2; exit 1 ;; esac
}

# stop_daemon: SIGTERM, and the exit status must be 0.
stop_daemon() {
  kill -TERM "$daemon_pid"
  local rc=0
  wait "$daemon_pid" || rc=$?
  daemon_pid=""
  if [ "$rc" -ne 0 ]; then echo "daemon exited $rc on SIGTERM" >&2; tail -20 "$work/daemon.log"; exit 1; fi
}

rss_kb() { ps -o rss= -p "$daemon_pid" | tr -d ' '; }

# sample_rss FILE: the highest RSS seen, every 200 ms, until killed.
sample_rss() {
  local peak=0 r
  while kill -0 "$daemon_pid" 2>/dev/null; do
    r=$(rss_kb) || break
    [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$1"
    sleep 0.2
  done
}

# ghz_run OUT.json REQFILE C N [extra ghz flags]
ghz_run() {
  local out=$1 req=$2 c=$3 n=$4
  shift 4
  timeout "$run_timeout" "$ghz" --insecure --proto proto/riptide/pool/v1/pool.proto -i proto \
    --call riptide.pool.v1.PoolService/Extract -B "$req" -c "$c" -n "$n" -t 30s \
    --connections "$(( c < 4 ? c : 4 ))" -O json "$@" "$grpc" >"$out"
}

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

echo "# riptide-poold $mode test, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $("$daemon_bin" --version 2>&1 | head -1)"
echo "# ghz $GHZ_VERSION; corpus: $(cat "$work/corpus.txt")"

if [ "$mode" = load ]; then
  echo
  echo "| run | calls | calls/s | p50 | p99 | status codes | RSS MiB peak / after | p99 checkout wait ms |"
  echo "| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |"
  for w in $workloads; do
    for set in $sets; do
      for c in $concurrency; do
        start_daemon
        n=$n_native
        [ "$w" = wasm ] && n=$n_wasm
        n=$(( n > 2 * c ? n : 2 * c ))
        echo 0 >"$work/peak"
        sample_rss "$work/peak" & sampler_pid=$!
        ghz_run "$work/run.json" "$work/reqs/$w-$set.bin" "$c" "$n" || fail "$w $set c=$c: ghz exited $?"
        kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
        "$loadctl" stats -grpc "$grpc" -metrics "$metrics" >"$work/after.json"
        "$loadctl" summary -name "$w $set c=$c" -stats "$work/after.json" \
          -rss-kb "$(rss_kb)" -peak-rss-kb "$(cat "$work/peak")" "$work/run.json"
        # Requirement: OK, or (above saturation) RESOURCE_EXHAUSTED only.
        bad=$(jq -r '.statusCodeDistribution | keys[] | select(. != "OK" and . != "ResourceExhausted")' "$work/run.json")
        [ -z "$bad" ] || fail "$w $set c=$c: status codes $bad"
        stop_daemon
      done
    done
  done

  echo
  echo "## Statuses under saturation (loadctl check: every call OK or RESOURCE_EXHAUSTED POOL_EXHAUSTED +RetryInfo)"
  for profile in default saturated; do
    settings=()
    [ "$profile" = saturated ] && settings=(NATIVE_POOL_SIZE=1 NATIVE_MAX_INSTANCES=1 WASM_POOL_SIZE=1 WASM_MAX_INSTANCES=1 CHECKOUT_TIMEOUT_MS=50)
    for w in $workloads; do
      start_daemon "${settings[@]}"
      n=$n_native
      [ "$w" = wasm ] && n=$n_wasm
      printf '%-9s %-7s c=256 n=%-5s ' "$profile" "$w" "$n"
      "$loadctl" check -grpc "$grpc" -req "$work/reqs/$w-median.bin" -c 256 -n "$n" -timeout 30s \
        || fail "$profile $w: statuses under saturation"
      stop_daemon
    done
  done
else
  start_daemon
  warm=${SOAK_WARMUP:-15s}
  # Mixed traffic: every workload at once, each on the whole corpus.
  mixed() {
    local d=$1 pids=() w rc=0 limit
    # The run's own length plus the usual allowance: a soak of 10m must
    # not be cut at LOADTEST_RUN_TIMEOUT.
    limit=$(($(seconds "$d") + run_timeout))
    for w in css regex fields wasm; do
      timeout "$limit" "$ghz" --insecure --proto proto/riptide/pool/v1/pool.proto -i proto \
        --call riptide.pool.v1.PoolService/Extract -B "$work/reqs/$w-mix.bin" -c 8 -z "$d" \
        --duration-stop wait -t 30s -O json "$grpc" >"$work/soak-$w.json" & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=$?; done
    return $rc
  }
  # seconds converts a ghz duration (90s, 10m, 1h) to whole seconds.
  seconds() {
    case $1 in
      *h) echo $((${1%h} * 3600)) ;;
      *m) echo $((${1%m} * 60)) ;;
      *s) echo "${1%s}" ;;
      *) echo "$1" ;;
    esac
  }
  quiet() {
    # Let the calls' goroutines and connections wind down before measuring.
    sleep "${SOAK_QUIET:-5}"
  }
  echo "warm-up: $warm of css, regex, fields and wasm at 8 callers each"
  mixed "$warm" || fail "warm-up load"
  quiet
  "$loadctl" stats -grpc "$grpc" -metrics "$metrics" >"$work/base.json"
  base_rss=$(rss_kb)
  echo "soak: $soak_for of the same"
  echo 0 >"$work/peak"
  sample_rss "$work/peak" & sampler_pid=$!
  mixed "$soak_for" || fail "soak load"
  kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
  echo
  echo "| workload | calls | calls/s | p50 | p99 | status codes |"
  echo "| --- | ---: | ---: | ---: | ---: | --- |"
  for w in css regex fields wasm; do
    jq -r --arg w "$w" '"| \($w) | \(.count) | \(.rps|floor) | \([.latencyDistribution[]|select(.percentage==50)][0].latency/1e6*10|floor/10) ms | \([.latencyDistribution[]|select(.percentage==99)][0].latency/1e6*10|floor/10) ms | \(.statusCodeDistribution|to_entries|map("\(.key) \(.value)")|join(", ")) |"' "$work/soak-$w.json"
    bad=$(jq -r '.statusCodeDistribution | keys[] | select(. != "OK")' "$work/soak-$w.json")
    [ -z "$bad" ] || fail "soak $w: status codes $bad"
  done
  echo "peak RSS during the soak: $(( $(cat "$work/peak") / 1024 )) MiB"
  quiet
  "$loadctl" stats -grpc "$grpc" -metrics "$metrics" >"$work/end.json"
  echo
  "$loadctl" settle -base "$work/base.json" -now "$work/end.json" -base-rss-kb "$base_rss" -now-rss-kb "$(rss_kb)" \
    || fail "soak did not settle"
  stop_daemon
fi

echo
if [ "$failures" -gt 0 ]; then
  echo "$mode: $failures failure(s)"
  exit 1
fi
echo "$mode: all requirements met"
