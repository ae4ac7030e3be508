// Package testenv holds what the tests of several packages share about
// their environment. It is imported only by tests.
package testenv

import "os"

// CacheEnv names the variable that points the tests' wazero compilation
// cache at a directory kept between runs and shared by every package, so
// that the bundled article module (the better part of a minute to compile
// under the race detector) is compiled once, not once per package and run.
// The Makefile sets it.
const CacheEnv = "RIPTIDE_TEST_WAZERO_CACHE"

// CompilationCacheDir returns the directory for a test binary's wazero
// compilation cache and a function that removes it when it is private to
// this run: $RIPTIDE_TEST_WAZERO_CACHE when set (kept), else a new
// temporary directory named after prefix.
func CompilationCacheDir(prefix string) (dir string, cleanup func(), err error) {
	if d := os.Getenv(CacheEnv); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", nil, err
		}
		return d, func() {}, nil
	}
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}
