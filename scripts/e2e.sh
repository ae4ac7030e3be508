#!/usr/bin/env bash
# End-to-end check of what users run: builds the daemon exactly as the
# Dockerfile does, starts it on free loopback ports, runs the Python, Node and
# Go examples (on the client libraries; each must print examples/expected.txt),
# the README's grpcurl walkthrough and the examples over a unix socket
# (the sidecar-unix setup), then the deployment checks (Dockerfile rules,
# ConfigMap, dashboard and rules against the live metrics, promtool, and the
# strict Kubernetes validation). Fails on any error; the daemons are stopped
# on every exit.
#
#   scripts/e2e.sh
#
# Needs: go, make, curl, python3 with grpcio and grpcio-tools (Debian
# python3-grpcio python3-grpc-tools python3-protobuf), node and npm, and
# promtool (Debian prometheus) for the promtool checks.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
work=$(mktemp -d)
pids=()
passed=0

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

step() { echo; echo "=== e2e: $*"; }
ok() { passed=$((passed + 1)); echo "--- ok: $*"; }

# The same build as the image: the Dockerfile's build stage sets
# CGO_ENABLED=0 and runs `make build` (the bundled WASM module, then the
# static binary).
step "build (CGO_ENABLED=0 make build, as in the Dockerfile)"
CGO_ENABLED=0 make build VERSION=e2e
bin=$PWD/bin/riptide-poold
make tools >/dev/null
ok "build"

# start NAME GRPC_ADDR: runs the daemon with small pools and a metrics
# server on a free loopback port, waits until it serves, and sets
# ${NAME}_GRPC and ${NAME}_METRICS to its addresses.
start() {
	local name=$1 grpc=$2 log="$work/$1.log"
	GRPC_ADDR=$grpc METRICS_ADDR=127.0.0.1:0 NATIVE_POOL_SIZE=2 NATIVE_MAX_INSTANCES=8 \
		WASM_POOL_SIZE=1 WASM_MAX_INSTANCES=4 WASM_COMPILATION_CACHE_DIR="$work/cache-$name" \
		LOG_FORMAT=json "$bin" 2>"$log" &
	pids+=($!)
	local i
	for i in $(seq 1 300); do
		if grep -q '"msg":"serving"' "$log"; then
			break
		fi
		if ! kill -0 "${pids[-1]}" 2>/dev/null; then
			cat "$log"; echo "e2e: $name exited at start-up"; exit 1
		fi
		sleep 0.1
	done
	grep -q '"msg":"serving"' "$log" || { cat "$log"; echo "e2e: $name not serving after 30s"; exit 1; }
	local g m
	g=$(grep '"msg":"gRPC listening"' "$log" | sed -E 's/.*"addr":"([^"]*)".*/\1/')
	m=$(grep '"msg":"metrics listening"' "$log" | sed -E 's/.*"addr":"([^"]*)".*/\1/')
	# A unix socket is logged as its path.
	case $grpc in unix://*) g="unix://$g" ;; esac
	printf -v "${name}_GRPC" '%s' "$g"
	printf -v "${name}_METRICS" '%s' "$m"
	echo "$name: gRPC $g, metrics $m"
}

step "start the daemon on free loopback ports"
start tcp 127.0.0.1:0
ok "start"

python=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import grpc, google.protobuf' 2>/dev/null; then
		python=$p
		break
	fi
done
[ -n "$python" ] || { echo "e2e: no python3 with grpc and protobuf (apt-get install python3-grpcio python3-protobuf)"; exit 1; }

# The examples are ten-line programs on the client libraries; each must
# print examples/expected.txt exactly.
step "Python example on the library ($python)"
PYTHONPATH=$PWD/clients/python/src "$python" examples/python/riptide_client.py "$tcp_GRPC" | tee "$work/py.out"
diff -u examples/expected.txt "$work/py.out"
ok "python"

step "Node example on the library"
(cd clients/node && npm ci --no-audit --no-fund --loglevel=error)
(cd examples/node && npm ci --no-audit --no-fund --loglevel=error)
node examples/node/client.mjs "$tcp_GRPC" | tee "$work/node.out"
diff -u examples/expected.txt "$work/node.out"
ok "node"

step "Go example on the library"
"$GO" run ./examples/goclient "$tcp_GRPC" | tee "$work/go.out"
diff -u examples/expected.txt "$work/go.out"
ok "go"

step "README grpcurl walkthrough, line for line"
"$python" scripts/readme-walkthrough.py "$tcp_GRPC" "$tcp_METRICS"
ok "walkthrough"

step "a client over a unix socket (the sidecar-unix overlay)"
start unix "unix://$work/poold.sock"
PYTHONPATH=$PWD/clients/python/src "$python" examples/python/riptide_client.py "$unix_GRPC" | diff -u examples/expected.txt -
node examples/node/client.mjs "$unix_GRPC" | diff -u examples/expected.txt -
"$GO" run ./examples/goclient "$unix_GRPC" | diff -u examples/expected.txt -
ok "unix socket"

step "deployment checks against this binary (go test ./deploy ./examples/goclient)"
RIPTIDE_POOLD_BIN=$bin "$GO" test -count=1 ./deploy/... ./examples/...
ok "deploy tests"

step "Kubernetes manifests, rendered and strictly validated (deploy/validate)"
(cd deploy/validate && "$GO" test -count=1 ./...)
ok "kubernetes"

echo
echo "e2e: $passed passed, 0 failed"
