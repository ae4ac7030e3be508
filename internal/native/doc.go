// Package native implements riptide-poold's native extractors: CSS
// selectors (cascadia over golang.org/x/net/html) and regular expressions
// (Go's RE2, linear time in the input whatever the pattern).
//
// A request's HTML becomes a [Document], built with [NewDocument] from a
// UTF-8 string or [DecodeDocument] from bytes in any charset. A Document
// parses itself at most once, when a CSS question or a SourceText regex
// first needs the tree, and is safe for concurrent readers, so all the
// questions of one request share one parse. A regex over SourceHTML never
// parses at all.
//
// # Questions answered without a tree
//
// A question about tags and attributes alone (the title, every a@href, a
// meta tag's content, the JSON-LD scripts, the paragraphs' text: one
// compound selector per group member, on a type such as a, img, link,
// meta, p, script or title, and an attribute, a raw-text element's text
// or a paragraph's text as output) is first answered from the tokenizer's
// stream, which costs a third of a parse or, for a first match near the
// top, almost nothing. The stream follows the tokens
// as x/net/html's parser reads them and gives up at the first markup after
// which the tree could hold other elements or another order (tables,
// <select>, <template>, a misnested <a>, HTML inside SVG...); the question
// then walks the tree, with the same answer, and so do the document's
// later questions. CSS.SelectEach answers several questions from one pass
// over the stream, or from one parse when the stream cannot answer them
// all; Document.UseTree skips the stream altogether. stream.go says what is modelled;
// differential tests compare the two paths on the corpus, on random tag
// soups and under the fuzzer.
//
// # Extractors and what pooling them buys
//
// [CSS] and [Regex] are the pooled instances; both satisfy the generic
// pool's Poolable (IsHealthy, Reset, Close). An extractor serves one
// request at a time and owns:
//
//   - scratch space reused from request to request: a CSS keeps a byte
//     buffer in which each text or HTML value is built (so a value costs one
//     allocation, the final string) and a slice for the matched elements;
//     html.Render writes straight into the buffer instead of through a new
//     4 KB bufio.Writer per value;
//   - its view of the shared cache: the few compiled selectors or patterns
//     it used last, found without the shared LRU's lock.
//
// Compiled selectors and patterns live in a [SelectorCache] or
// [PatternCache], a bounded LRU shared by all extractors of a pool, warmed
// from configuration with Warm and observable through Hits, Misses and Len.
//
// Reset empties the scratch space and drops whatever a large document grew
// past a few tens of kilobytes, so that an idle pool holds neither a
// document (the matched-element slice is cleared after every call) nor the
// memory of the largest page it ever saw. An extractor costs about 5 KB
// (TestExtractorMemory measures it).
//
// # Results
//
// Select returns []string and Find returns []Match, each with a truncated
// flag. Three things bound a result: the spec (first match, or all, or at
// most Limit), Limits.MaxMatches, and Limits.MaxResultBytes. Only
// MaxMatches sets truncated: the caller asked for more than the daemon
// returns. A result over MaxResultBytes is an error, ErrResultTooLarge,
// because a result cut by size would be silently incomplete.
//
// # Work limits
//
// A selector's cost depends on the document (nested :has over nested
// elements, descendant chains through deep ones, :nth-* and ~ over wide
// ones), and cascadia cannot be interrupted inside one element. Before a
// question walks the tree, its worst case on this document is computed
// from a model of cascadia's matching (cost.go) and the question is
// refused, with a *CostError inside its *SpecError, when one element could
// cost more than Limits.MaxElementWork steps, the call's questions more
// than Limits.MaxWork, or :has is nested deeper than Limits.MaxHasDepth.
// The walk checks the context every few thousand steps of the element
// bound, so a cancelled call stops within one element's bound. A regex
// question is refused when text bytes times program size is over MaxWork,
// and a long search reads the text through a reader that ends when the
// context is done.
//
// # Errors
//
// An invalid spec is a *[SpecError] naming the offending field; a bad
// document is [ErrEmptyDocument] or [ErrDocumentTooLarge]; a large result
// is [ErrResultTooLarge]; a done context returns ctx.Err(). All are wrapped
// so that errors.Is and errors.As tell them apart, and the server maps them
// to gRPC statuses.
package native
