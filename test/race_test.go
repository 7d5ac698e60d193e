//go:build race

package test

func init() { raceEnabled = true }
