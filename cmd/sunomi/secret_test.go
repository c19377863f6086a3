package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/internal/secret"
)

func TestSecretPrintsAStrongNewSecret(t *testing.T) {
	run := func() string {
		var out bytes.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetArgs([]string{"secret"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	first, second := run(), run()
	if !strings.HasSuffix(first, "\n") || strings.Count(first, "\n") != 1 {
		t.Fatalf("output %q, want one line", first)
	}
	if err := secret.Check(strings.TrimSpace(first)); err != nil {
		t.Errorf("the printed secret %q is refused: %v", first, err)
	}
	if first == second {
		t.Errorf("two runs printed the same secret %q", first)
	}
}
