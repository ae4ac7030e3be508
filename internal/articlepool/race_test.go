//go:build race

package articlepool

const raceEnabled = true
