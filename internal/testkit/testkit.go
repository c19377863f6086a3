// Package testkit holds the few helpers that the tests and test harnesses of every package
// reach for: waiting for a condition under a deadline, free loopback ports for the servers a
// test starts, the end of a long output to show when something failed, and the real commands,
// built once (Build) or run by their own test binary (Command). One of each, so that every test
// waits, picks ports, quotes output and starts commands the same way.
package testkit
