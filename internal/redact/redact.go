// Package redact keeps the secrets that URLs carry out of error messages and
// logs. A presigned URL is a bearer credential: its query string holds the
// signature (X-Amz-Signature, sig=), the key it was signed with
// (X-Amz-Credential), session tokens and expiries, and anyone who reads it in
// a log, a job's error or a video's failure reason can use it until it
// expires. Go's net/http puts the whole URL into every *url.Error
// ("Get \"https://…?X-Amz-Signature=…\": dial tcp …"), so errors from
// requests to presigned URLs must pass through Error before they are logged
// or reported.
package redact

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// URL returns raw as scheme://host/path: without its query string, fragment
// and user information, which is enough to tell which object a request was
// for. A string that does not parse as a URL loses everything from its first
// '?' or '#', and the user information before its host.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		if scheme, rest, ok := strings.Cut(raw, "://"); ok {
			authority, _, _ := strings.Cut(rest, "/")
			if i := strings.LastIndex(authority, "@"); i >= 0 {
				raw = scheme + "://" + rest[i+1:]
			}
		}
		return raw
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u.String()
}

// Error returns err with the query strings of the URLs in its message
// removed: the URL of a *url.Error in its chain is cut down to
// scheme://host/path, and whatever query string is left in the text (an
// error that quoted a URL itself) is removed too. errors.Is and errors.As
// still see the original chain. A nil err stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The *url.Error belongs to the failed request alone, so trimming it
		// in place hides the URL from whoever unwraps the chain later.
		ue.URL = URL(ue.URL)
	}
	msg := err.Error()
	clean := Text(msg)
	if clean == msg {
		return err
	}
	return &redacted{msg: clean, err: err}
}

// redacted is an error whose message had URL query strings removed.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

var (
	// absoluteQuery is the query string and fragment of an absolute URL
	// (scheme://…) inside free text. Punctuation that ends the URL's
	// sentence ("…&sig=ab: dial tcp") is kept: the second group.
	absoluteQuery = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^\s"'<>?#]*)[?#][^\s"'<>]*?([:,.;!)\]]*(?:[\s"'<>]|$))`)
	// secretQuery is a query string anywhere (a relative URL such as the
	// local backend's /v1/blobs/…?expires=…&sig=…) naming a parameter that
	// carries or accompanies a secret.
	secretQuery = regexp.MustCompile(`(?i)\?[^\s"'<>]*\b(?:sig|signature|x-amz-[a-z-]+|token|access_token|expires|credential|key)=[^\s"'<>]*?([:,.;!)\]]*(?:[\s"'<>]|$))`)
)

// Text removes the query strings and fragments of absolute URLs in s, and
// any other query string that names a signature, credential, token or
// expiry parameter.
func Text(s string) string {
	if !strings.ContainsAny(s, "?#") {
		return s
	}
	s = absoluteQuery.ReplaceAllString(s, "${1}${2}")
	return secretQuery.ReplaceAllString(s, "${1}")
}
