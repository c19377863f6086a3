package secret

import (
	"cmp"
	"slices"
	"strings"
)

// commonWords are the words and passwords people put in secrets: the most common passwords,
// words about secrets and this software, and keyboard walks. Any of them found in a secret is
// worth one pick from this list, not its letters.
var commonWords = strings.Fields(`
	password passwd passphrase secret secrets private token tokens signing signature key keys
	media storage jwt hmac admin administrator root default changeme change example test testing
	sunomi video videos upload stream server service production prod staging develop development
	local localhost hello welcome letmein login logon master monkey dragon shadow sunshine
	princess football baseball soccer hockey batman superman trustno1 iloveyou freedom whatever
	qwerty qwertz azerty asdf asdfgh zxcv zxcvbn qazwsx abc123 abcdef abcd 1234 12345 123456
	1234567 12345678 123456789 1234567890 0000 1111 1q2w3e4r mypassword pass word user guest
	access security secure system internal company cluster database postgres minio s3 aws
	github google apple love summer winter spring autumn january december monday friday
	dog cat cheese coffee computer internet random string value none null nothing something
	super hunter killer ninja pokemon starwars michael jordan charlie thomas jennifer
`)

// commonWordsByLength is commonWords, longest first, so that "password" is found before "pass".
var commonWordsByLength = func() []string {
	ws := slices.Clone(commonWords)
	slices.SortStableFunc(ws, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return ws
}()
