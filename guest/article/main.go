// Command article is the bundled "article" extractor: package
// internal/article behind the riptide guest ABI (docs/wasm-abi.md), built as
// a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm GOEXPERIMENT=nojsonv2 go build -buildmode=c-shared \
//		-trimpath -o internal/wasm/bundled/article.wasm ./guest/article
//
// (scripts/build-guest.sh, which also leaves go-readability's net/http
// wrapper out of the build and says why, then joins the data segments). The exports live in exports_wasip1.go; the rest
// is ordinary Go, tested natively. Built for another GOOS it does nothing.
package main

func main() {}
