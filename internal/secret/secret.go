// Package secret makes random secrets and estimates the strength of the ones operators give,
// so that production services refuse the guessable ones people type ("changeme", 32 × "a").
//
// The estimate is deliberately simple, and errs low for text that looks made by a person:
//
//   - each character is worth log2 of the alphabet it is drawn from, the alphabet being the
//     union of the character classes present (lower-case 26, upper-case 26, digits 10, other
//     printable ASCII 33, anything else 100), or 16 when the secret is all hexadecimal;
//   - a character that repeats the one before it, or continues a run of constant steps
//     ("abc", "1357", "zyx"), is worth 1 bit;
//   - a common word or password from a built-in list (commonWords), found anywhere in the
//     secret whatever its case, is worth log2 of the list's length for all its characters.
//
// A secret must be worth MinBits: 32 random bytes in hex or base64 are worth over 200.
package secret

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
)

// MinBits is the least estimated entropy a secret must have.
const MinBits = 128

// newBytes is how much randomness New draws: twice MinBits.
const newBytes = 32

// HowToMake is what an error about a weak secret tells the operator to do.
const HowToMake = "make one with `sunomi secret`"

// New returns a new random secret: 32 bytes from the system's CSPRNG, base64url without padding
// (43 characters, safe in URLs, environment variables and key:secret lists).
func New() string {
	b := make([]byte, newBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Check returns nil for a strong secret, and otherwise an error saying in a few words why it
// is weak, for the caller to prefix with the secret's name.
func Check(s string) error {
	if s == "" {
		return fmt.Errorf("it is empty; %s", HowToMake)
	}
	if strings.Count(s, s[:1]) == len(s) {
		return fmt.Errorf("it is one character repeated; %s", HowToMake)
	}
	bits, word := estimate(s)
	if bits >= MinBits {
		return nil
	}
	if word != "" {
		return fmt.Errorf("it is built on the common word %q and holds about %.0f bits of entropy, under %d; %s", word, bits, MinBits, HowToMake)
	}
	return fmt.Errorf("it holds about %.0f bits of entropy, under %d; %s", bits, MinBits, HowToMake)
}

// Bits is the estimated entropy of s (see the package comment).
func Bits(s string) float64 {
	bits, _ := estimate(s)
	return bits
}

// estimate returns the entropy of s and the longest common word found in it, if any.
func estimate(s string) (bits float64, word string) {
	perChar := math.Log2(float64(alphabet(s)))
	covered, word, words := commonWordsIn(s)
	bits = float64(words) * math.Log2(float64(len(commonWords)))
	for i := range len(s) {
		switch {
		case covered[i]:
		case i >= 1 && s[i] == s[i-1],
			i >= 2 && int(s[i])-int(s[i-1]) == int(s[i-1])-int(s[i-2]):
			bits++
		default:
			bits += perChar
		}
	}
	return bits, word
}

// alphabet is the size of the alphabet s looks drawn from.
func alphabet(s string) int {
	if isHex(s) {
		return 16
	}
	var lower, upper, digit, other, beyond bool
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r < 0x80:
			other = true
		default:
			beyond = true
		}
	}
	n := 0
	for _, c := range []struct {
		present bool
		size    int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 33}, {beyond, 100}} {
		if c.present {
			n += c.size
		}
	}
	return n
}

func isHex(s string) bool {
	lower := strings.Trim(s, "0123456789abcdef") == ""
	upper := strings.Trim(s, "0123456789ABCDEF") == ""
	return lower || upper
}

// commonWordsIn marks the bytes of s that belong to common words, longest words first, and
// returns how many words it found and the longest.
func commonWordsIn(s string) (covered []bool, longest string, n int) {
	lower := strings.ToLower(s)
	covered = make([]bool, len(s))
	for _, w := range commonWordsByLength {
		for from := 0; ; {
			i := strings.Index(lower[from:], w)
			if i < 0 {
				break
			}
			i += from
			free := true
			for j := i; j < i+len(w); j++ {
				free = free && !covered[j]
			}
			if free {
				for j := i; j < i+len(w); j++ {
					covered[j] = true
				}
				n++
				if longest == "" {
					longest = w
				}
			}
			from = i + 1
		}
	}
	return covered, longest, n
}
