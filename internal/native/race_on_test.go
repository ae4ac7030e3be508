//go:build race

package native

// raceEnabled is set when the tests run under the race detector, which
// slows the corpus-wide anchor tests about tenfold: they then ask every
// tenth page.
const raceEnabled = true
