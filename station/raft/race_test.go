//go:build race

package raft_test

// raceEnabled says the tests run under the race detector, which makes SQLite (Go code here) many
// times slower.
const raceEnabled = true
