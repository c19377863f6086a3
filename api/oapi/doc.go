// Package oapi holds the request, response and server-interface types generated from
// api/openapi.yaml by oapi-codegen. Do not edit server.gen.go: change the contract and run
// `make generate`; TestGeneratedCodeIsFresh fails when the two disagree.
package oapi

//go:generate go tool oapi-codegen -config config.yaml ../openapi.yaml
