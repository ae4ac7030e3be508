#!/bin/sh
# Builds the bundled article extractor, guest/article, into
# internal/wasm/bundled/article.wasm with the same go toolchain as the
# daemon (the .wasm is git-ignored; make runs this before building), then
# joins its data segments: Go's linker writes some 70,000 of them, which
# wazero would walk on every instantiation (internal/wasm/dataseg).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=internal/wasm/bundled/article.wasm
GOOS=wasip1 GOARCH=wasm "$GO" build -buildmode=c-shared -trimpath -o "$out.tmp" ./guest/article
env -u GOOS -u GOARCH "$GO" run ./internal/wasm/dataseg/cmd/mergedata "$out.tmp" "$out.merged"
rm "$out.tmp"
mv "$out.merged" "$out"
