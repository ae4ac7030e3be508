#!/usr/bin/env bash
# Builds the container image from the Dockerfile with buildah, checks what is
# in it, and starts the daemon it holds as a container runtime would: on a
# read-only copy of the image's root filesystem, with only the compilation
# cache writable, as uid 65532. Then it calls grpc.health.v1 and one Extract
# of each kind (css and the bundled article module) and stops the daemon
# with SIGTERM.
#
#   scripts/image-check.sh        (make image-check builds bin/ first)
#
# No image is pulled: the Dockerfile's BINARY_SOURCE=prebuilt takes the
# binary that `make build` left in bin/, and the build stage, which starts
# from a golang image, is skipped. No container runtime works on the
# machines this runs on (crun cannot set rlimits there), so the run uses
# what a runtime would do itself: a private mount namespace (unshare), a
# read-only bind mount of the root filesystem, a tmpfs on the cache
# directory, chroot, and the image's user, entrypoint and environment.
#
# What this proves and what it cannot is in the README's Deploy section.
#
# Needs: root, buildah (Debian buildah), unshare and chroot (util-linux,
# coreutils), python3, and grpcurl (make tools).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
IMAGE=${IMAGE:-localhost/riptide-poold:image-check}
GRPCURL=${GRPCURL:-$PWD/.tools/bin/grpcurl}
bin=$PWD/bin/riptide-poold
buildah=(buildah --storage-driver vfs)

[ "$(id -u)" -eq 0 ] || { echo "image-check: needs root (buildah's vfs storage, unshare, chroot)"; exit 1; }
command -v buildah >/dev/null || { echo "image-check: no buildah (apt-get install buildah)"; exit 1; }
[ -x "$bin" ] || { echo "image-check: no $bin: run make build first (make image-check does)"; exit 1; }
[ -x "$GRPCURL" ] || { echo "image-check: no grpcurl at $GRPCURL (make tools)"; exit 1; }
# The final stage is scratch: no libc, so the binary must be static.
${GO:-go} version -m "$bin" | grep -q 'CGO_ENABLED=0' ||
	{ echo "image-check: $bin was built with cgo: build it with CGO_ENABLED=0 make build (make image-check does)"; exit 1; }

work=$(mktemp -d)
ctr=""
daemon=""
cleanup() {
	if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
		kill -KILL "$daemon" 2>/dev/null || true
	fi
	if [ -n "$ctr" ]; then
		"${buildah[@]}" rm "$ctr" >/dev/null 2>&1 || true
	fi
	"${buildah[@]}" rmi "$IMAGE" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

passed=0
step() { echo; echo "=== image-check: $*"; }
ok() { passed=$((passed + 1)); echo "--- ok: $*"; }
fail() { echo "image-check: FAIL: $*" >&2; exit 1; }

step "build the image from bin/riptide-poold (BINARY_SOURCE=prebuilt, version $VERSION)"
# The context holds the binary and nothing else, so nothing of the work
# tree can reach the image by accident.
mkdir -p "$work/context/bin"
cp "$bin" "$work/context/bin/riptide-poold"
"${buildah[@]}" bud --isolation chroot --quiet \
	--build-arg BINARY_SOURCE=prebuilt \
	--build-arg VERSION="$VERSION" \
	--build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
	-f "$PWD/Dockerfile" -t "$IMAGE" "$work/context" >/dev/null
ok "built $IMAGE"

step "the image's configuration"
"${buildah[@]}" inspect --type image "$IMAGE" >"$work/inspect.json"
python3 - "$work/inspect.json" "$VERSION" >"$work/env" <<'PY'
import json, sys
path, version = sys.argv[1], sys.argv[2]
config = json.load(open(path))["OCIv1"]["config"]
want = {
    "User": "65532:65532",
    "Entrypoint": ["/riptide-poold"],
    "ExposedPorts": {"50051/tcp": {}, "9090/tcp": {}},
}
bad = [f"{k} is {config.get(k)!r}, want {v!r}" for k, v in want.items() if config.get(k) != v]
if config.get("Cmd"):
    bad.append(f"Cmd is {config['Cmd']!r}: arguments belong to the deployment")
labels = config.get("Labels") or {}
if labels.get("org.opencontainers.image.version") != version:
    bad.append(f"label org.opencontainers.image.version is {labels.get('org.opencontainers.image.version')!r}, want {version!r}")
for label in ("org.opencontainers.image.title", "org.opencontainers.image.source", "org.opencontainers.image.revision"):
    if not labels.get(label):
        bad.append(f"label {label} is missing")
env = dict(e.split("=", 1) for e in config.get("Env") or [])
if env.get("WASM_COMPILATION_CACHE_DIR") != "/var/cache/riptide-poold":
    bad.append(f"WASM_COMPILATION_CACHE_DIR is {env.get('WASM_COMPILATION_CACHE_DIR')!r}")
if bad:
    sys.exit("image config: " + "; ".join(bad))
# The environment the daemon starts with, one NAME=value a line.
for k, v in env.items():
    print(f"{k}={v}")
PY
ok "user 65532, entrypoint /riptide-poold, ports 50051 and 9090, version label $VERSION"

step "the image's files"
ctr=$("${buildah[@]}" from --quiet "$IMAGE")
mnt=$("${buildah[@]}" mount "$ctr")
# A copy of the root filesystem, made as a runtime makes its rootfs: with
# the mount points it adds (/proc, /dev) and nothing else.
root=$work/rootfs
cp -a "$mnt/." "$root/"
"${buildah[@]}" umount "$ctr" >/dev/null
(cd "$root" && find . -mindepth 1 -printf '%y %U:%G %m %P\n' | sort) >"$work/files"
cat "$work/files"
python3 - "$work/files" <<'PY'
import sys
files = {}
for line in open(sys.argv[1]):
    kind, owner, mode, path = line.split(maxsplit=3)
    files[path.strip()] = (kind, owner, int(mode, 8))
want = {"riptide-poold", "var", "var/cache", "var/cache/riptide-poold"}
bad = []
if set(files) != want:
    extra, missing = sorted(set(files) - want), sorted(want - set(files))
    bad.append(f"files: extra {extra}, missing {missing} (no shell, no libc, nothing but the binary and the cache directory)")
kind, owner, mode = files.get("riptide-poold", ("?", "?", 0))
if kind != "f" or owner != "0:0" or mode & 0o022 or not mode & 0o001:
    bad.append(f"/riptide-poold is {kind} {owner} {mode:o}: want a root-owned executable nobody else can write")
kind, owner, mode = files.get("var/cache/riptide-poold", ("?", "?", 0))
if kind != "d" or owner != "65532:65532":
    bad.append(f"/var/cache/riptide-poold is {kind} {owner}: want a directory owned by 65532")
if bad:
    sys.exit("image files: " + "; ".join(bad))
PY
ok "the binary and the cache directory, nothing else"

step "start the image's daemon: read-only root, a tmpfs cache, uid 65532, loopback ports"
mkdir -p "$root/proc" "$root/dev"
ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r grpc_port metrics_port <<<"$ports"
grpc=127.0.0.1:$grpc_port
log=$work/daemon.log
# The image's Env, then what a deployment would set: loopback addresses
# (the image listens on :50051 and :9090) and small pools for a 2-core CI.
mapfile -t env <"$work/env"
env+=(GRPC_ADDR="$grpc" METRICS_ADDR=127.0.0.1:$metrics_port
	NATIVE_POOL_SIZE=2 WASM_POOL_SIZE=1 WASM_MAX_INSTANCES=4 SHUTDOWN_GRACE_MS=5000)
# unshare --fork runs the script as its child in a new mount namespace; the
# script execs chroot, which execs the daemon, so the daemon is the child
# of the unshare process and gets our signals directly.
unshare --mount --propagation private --fork -- /bin/sh -c '
	root=$1; shift
	mount --bind "$root" "$root"
	mount -o remount,bind,ro "$root"
	mount -t tmpfs -o size=256m,mode=0700,uid=65532,gid=65532 tmpfs "$root/var/cache/riptide-poold"
	mount -t proc proc "$root/proc"
	mount -t tmpfs -o size=64k,mode=0755 tmpfs "$root/dev"
	exec env -i "$@"
' image-run "$root" "${env[@]}" chroot --userspec=65532:65532 "$root" /riptide-poold 2>"$log" &
runner=$!
for _ in $(seq 1 50); do
	daemon=$(pgrep -P "$runner" || true)
	[ -n "$daemon" ] && break
	sleep 0.1
done
[ -n "$daemon" ] || { cat "$log"; fail "the daemon did not start"; }
for _ in $(seq 1 300); do
	grep -q '"msg":"serving"' "$log" && break
	kill -0 "$daemon" 2>/dev/null || { cat "$log"; fail "the daemon exited at start-up"; }
	sleep 0.1
done
grep -q '"msg":"serving"' "$log" || { cat "$log"; fail "not serving after 30 s"; }
[ "$(stat -c %u "/proc/$daemon")" = 65532 ] || fail "the daemon runs as uid $(stat -c %u "/proc/$daemon"), want 65532"
# What the daemon sees, from its own mount table: / read-only, the cache
# directory the one writable mount.
python3 - "/proc/$daemon/mountinfo" <<'PY'
import sys
mounts = {}
for line in open(sys.argv[1]):
    f = line.split()
    mounts[f[4]] = f[5].split(",")
bad = []
if "ro" not in mounts.get("/", []):
    bad.append(f"/ is mounted {mounts.get('/')}, want ro")
if "rw" not in mounts.get("/var/cache/riptide-poold", []):
    bad.append(f"/var/cache/riptide-poold is mounted {mounts.get('/var/cache/riptide-poold')}, want rw")
writable = sorted(m for m, o in mounts.items() if "rw" in o and m not in ("/var/cache/riptide-poold", "/proc", "/dev"))
if writable:
    bad.append(f"writable mounts besides the cache: {writable}")
sys.exit("mounts: " + "; ".join(bad) if bad else None)
PY
ok "serving on $grpc as uid 65532, / read-only, only the cache writable"

step "grpc.health.v1 and one Extract of each kind"
out=$("$GRPCURL" -plaintext "$grpc" grpc.health.v1.Health/Check)
grep -q '"status": "SERVING"' <<<"$out" || fail "health: $out"
out=$("$GRPCURL" -plaintext -d '{"service":"riptide.pool.v1.PoolService"}' "$grpc" grpc.health.v1.Health/Check)
grep -q '"status": "SERVING"' <<<"$out" || fail "health of riptide.pool.v1.PoolService: $out"
out=$("$GRPCURL" -plaintext -d '{"html":"<ul><li>one</li><li>two</li></ul>","css":{"selector":"li","all":true}}' \
	"$grpc" riptide.pool.v1.PoolService/Extract)
python3 -c 'import json, sys; v = json.loads(sys.argv[1])["values"]; sys.exit(None if v == ["one", "two"] else f"css values {v}")' "$out"
page='<html lang="en"><head><title>Tide tables</title></head><body><article><h1>Tide tables</h1>'
for i in 1 2 3 4 5; do
	page+="<p>The tide rises and falls twice a day, and paragraph $i of this article says so at some length, with commas, clauses and enough words to be read as content.</p>"
done
page+='</article></body></html>'
req=$(python3 -c 'import json, sys; print(json.dumps({"html": sys.argv[1], "url": "https://example.com/tides", "wasm": {"module": "article"}}))' "$page")
out=$("$GRPCURL" -plaintext -d "$req" "$grpc" riptide.pool.v1.PoolService/Extract)
python3 -c '
import json, sys
r = json.loads(sys.argv[1])["result"]
bad = []
if r.get("title") != "Tide tables": bad.append("title %r" % r.get("title"))
if "paragraph 5 of this article" not in r.get("text", ""): bad.append("text %r" % r.get("text", "")[:80])
sys.exit("article: " + "; ".join(bad) if bad else None)' "$out"
# The compilation cache went to the one writable place.
[ -n "$(ls -A "/proc/$daemon/root/var/cache/riptide-poold" 2>/dev/null)" ] || fail "nothing was written to the compilation cache"
ok "health SERVING; css answered [one two]; article answered its title and text; the cache was written"

step "SIGTERM"
kill -TERM "$daemon"
rc=0
wait "$runner" || rc=$?
daemon=""
tail -n 3 "$log"
[ "$rc" -eq 0 ] || fail "the daemon exited with status $rc after SIGTERM"
grep -q '"msg":"stopped"' "$log" || fail "no 'stopped' line in the log"
if grep -q '"level":"ERROR"' "$log"; then
	grep '"level":"ERROR"' "$log"
	fail "the daemon logged errors (a write outside the cache directory fails on the read-only root)"
fi
ok "stopped with status 0, no errors logged"

echo
echo "image-check: $passed passed, 0 failed"
