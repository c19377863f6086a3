package secret

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name, secret string
		why          string // in the error; "" means strong
	}{
		{"the issue's example", strings.Repeat("a", 32), "one character repeated"},
		{"empty", "", "empty"},
		{"a run of digits", "0123456789abcdef0123456789abcdef", "bits of entropy"},
		{"a common word", "changeme-changeme-changeme-changeme", `common word "changeme"`},
		{"words in capitals", "SuperSecretPasswordForProduction", "common word"},
		{"short random", "q8Ld-2xVn7", "bits of entropy"},
		{"32 random bytes in hex", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ""},
		{"a new one", New(), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Check(c.secret)
			switch {
			case c.why == "" && err != nil:
				t.Errorf("Check(%q) = %v, want nil (%.0f bits)", c.secret, err, Bits(c.secret))
			case c.why != "" && err == nil:
				t.Errorf("Check(%q) = nil (%.0f bits), want an error about %q", c.secret, Bits(c.secret), c.why)
			case err != nil && (!strings.Contains(err.Error(), c.why) || !strings.Contains(err.Error(), "sunomi secret")):
				t.Errorf("Check(%q) = %q, want it to say %q and how to make one", c.secret, err, c.why)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("Check(%q) = %q, want one line", c.secret, err)
			}
		})
	}
}

func TestNewIsRandom(t *testing.T) {
	a, b := New(), New()
	if a == b {
		t.Fatalf("two secrets are the same: %q", a)
	}
	if len(a) != 43 {
		t.Errorf("len(%q) = %d, want 43 (32 bytes in base64url)", a, len(a))
	}
	if bits := Bits(a); bits < 2*MinBits-20 {
		t.Errorf("a new secret is worth %.0f bits, want about %d", bits, 2*MinBits)
	}
}
