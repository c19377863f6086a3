// Package nomad holds Sunomi's Nomad job files; its test parses them.
package nomad
