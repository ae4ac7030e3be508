#!/bin/sh
# Builds the bundled article extractor, guest/article, into
# internal/wasm/bundled/article.wasm with the same go toolchain as the
# daemon (the .wasm is git-ignored; make runs this before building), then
# joins its data segments: Go's linker writes some 70,000 of them, which
# wazero would walk on every instantiation (internal/wasm/dataseg).
#
# The guest is built with GOEXPERIMENT=nojsonv2: the classic encoding/json
# rather than the one written on encoding/json/v2, which is the same API
# with the same output but three times the code (730 KB of WebAssembly
# against 235 KB). Every byte of code costs at each daemon start: wazero
# decodes and validates the module, and reads some six bytes of machine
# code per byte of WebAssembly back from its compilation cache.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=internal/wasm/bundled/article.wasm
GOOS=wasip1 GOARCH=wasm GOEXPERIMENT="${GOEXPERIMENT:+$GOEXPERIMENT,}nojsonv2" "$GO" build -buildmode=c-shared -trimpath -o "$out.tmp" ./guest/article
env -u GOOS -u GOARCH "$GO" run ./internal/wasm/dataseg/cmd/mergedata "$out.tmp" "$out.merged"
rm "$out.tmp"
mv "$out.merged" "$out"
