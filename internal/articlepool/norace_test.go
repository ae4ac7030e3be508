//go:build !race

package articlepool

const raceEnabled = false
