// Package bundled embeds the extractor modules shipped with the daemon: the
// "article" module built from guest/article.
//
// article.wasm is a build product, not in git: make (or go generate, or
// scripts/build-guest.sh) builds it before this package compiles.
package bundled

import _ "embed"

//go:generate ../../../scripts/build-guest.sh

// ArticleName is the name of the article module and of its pool.
const ArticleName = "article"

//go:embed article.wasm
var article []byte

// Article returns the article module's WebAssembly binary. The caller must
// not modify it.
func Article() []byte { return article }
