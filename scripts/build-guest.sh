#!/bin/sh
# Builds the bundled article extractor, guest/article, into
# internal/wasm/bundled/article.wasm with the same go toolchain as the
# daemon (the .wasm is git-ignored; make runs this before building).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=internal/wasm/bundled/article.wasm
GOOS=wasip1 GOARCH=wasm "$GO" build -buildmode=c-shared -trimpath -o "$out.tmp" ./guest/article
mv "$out.tmp" "$out"
