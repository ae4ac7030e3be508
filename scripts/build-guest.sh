#!/bin/sh
# Builds the bundled article extractor, guest/article, into
# internal/wasm/bundled/article.wasm with the same go toolchain as the
# daemon (the .wasm is git-ignored; make runs this before building), then
# joins its data segments: Go's linker writes some 70,000 of them, which
# wazero would walk on every instantiation (internal/wasm/dataseg).
#
# Every byte of guest code costs at each daemon start: wazero decodes and
# validates the module, and reads some six bytes of machine code per byte
# of WebAssembly back from its compilation cache into freshly faulted
# pages. Two things keep the guest small:
#
#   - GOEXPERIMENT=nojsonv2: the classic encoding/json rather than the one
#     written on encoding/json/v2, which is the same API with the same
#     output but three times the code (730 KB of WebAssembly against
#     235 KB).
#
#   - go-readability without its readability.go. That file holds only the
#     package's convenience wrappers (FromReader, FromDocument, FromURL,
#     CheckDocument); internal/article calls none of them, but FromURL's
#     net/http brings crypto/tls, crypto/x509, math/big and their
#     initializers: 106 of the guest's 229 packages, 1.1 MB of code and
#     some 70 ms of every start, for a network the sandbox does not have.
#     The build copies the module from the module cache (where go.sum has
#     verified it) into a temporary directory, leaves the file out, and
#     points a temporary copy of go.mod at the copy with a replace
#     directive. Nothing is committed and the native build is unchanged.
#     If a new go-readability needs that file, the build fails to compile;
#     if anything brings net/http back, the check below fails it.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=internal/wasm/bundled/article.wasm
readability=codeberg.org/readeck/go-readability/v2

# A fixed, git-ignored place rather than mktemp: the replacement's path is
# recorded in the module's build information, and a path that changes from
# build to build would change the module's bytes, and with them its SHA-256,
# wazero's compilation cache key.
work=.tools/guest-build
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

"$GO" mod download "$readability"
src=$("$GO" list -m -f '{{.Dir}}' "$readability")
if [ ! -f "$src/readability.go" ]; then
	echo "build-guest: $readability has no readability.go in '$src'; see this script's header" >&2
	exit 1
fi
cp -R "$src" "$work/readability"
chmod -R u+w "$work/readability"
rm "$work/readability/readability.go"
cp go.mod "$work/guest.mod"
cp go.sum "$work/guest.sum"
"$GO" mod edit -modfile="$work/guest.mod" -replace="$readability=./$work/readability"

export GOOS=wasip1 GOARCH=wasm GOEXPERIMENT="${GOEXPERIMENT:+$GOEXPERIMENT,}nojsonv2"
if "$GO" list -modfile="$work/guest.mod" -deps ./guest/article | grep -qx net/http; then
	echo "build-guest: the guest imports net/http again; find the importer with" >&2
	echo "  GOOS=wasip1 GOARCH=wasm go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./guest/article | grep net/http" >&2
	exit 1
fi
"$GO" build -modfile="$work/guest.mod" -buildmode=c-shared -trimpath -o "$out.tmp" ./guest/article
unset GOOS GOARCH GOEXPERIMENT
"$GO" run ./internal/wasm/dataseg/cmd/mergedata "$out.tmp" "$out.merged"
rm "$out.tmp"
mv "$out.merged" "$out"
