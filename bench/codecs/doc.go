// Package codecs holds `make bench-codecs`: the AV1 rungs against the H.264
// rungs at equal quality (codecs_test.go). It has no code of its own.
package codecs
