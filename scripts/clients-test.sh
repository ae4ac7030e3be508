#!/usr/bin/env bash
# The client libraries' own tests, each against real daemons, and the
# fleet test (three daemons, one target, one killed mid-run) for each:
#
#   - Python (clients/python): the committed stubs checked against the
#     proto, mypy --strict, the package installed with pip from the
#     repository path into a venv over Debian's packages (no index), and
#     pytest against the installed package;
#   - Node (clients/node): npm ci (which builds the TypeScript), node --test;
#   - Go (client/): go test;
#   - clients/fleet: go test with every library required.
#
# Needs: Debian's python3-grpcio python3-protobuf python3-grpc-tools
# python3-pytest python3-venv mypy protobuf-compiler protobuf-compiler-grpc;
# node and npm. .ci/run installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
bin=$PWD/bin/riptide-poold
[ -x "$bin" ] || { echo "clients-test: no $bin (make build)"; exit 1; }
export RIPTIDE_POOLD_BIN=$bin
export RIPTIDE_TEST_WAZERO_CACHE=${RIPTIDE_TEST_WAZERO_CACHE:-$PWD/.tools/wazero-test-cache}

echo "=== clients: Python stubs, types, install, tests"
clients/python/generate.sh --check
(cd clients/python && /usr/bin/python3 -m mypy)
venv=$PWD/.tools/python-venv
rm -rf "$venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install -q --no-index --no-build-isolation ./clients/python
rm -rf clients/python/build
# From the tests' folder, so that the installed package is the one imported.
(cd clients/python/tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider .)

echo "=== clients: Node build and tests"
(cd clients/node && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "=== clients: Go client and the fleet test for every library"
RIPTIDE_FLEET_ALL=1 "$GO" test -count=1 ./client/... ./clients/fleet/
