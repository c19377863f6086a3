package redact

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// secretMarkers are the parts of presigned URLs that must never reach a
// message.
var secretMarkers = []string{"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "sig=", "token=", "expires="}

const (
	s3URL = "https://bucket.s3.amazonaws.com/videos/v1/source/original?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=AKIAEXAMPLE%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261207T081500Z" +
		"&X-Amz-Expires=900&X-Amz-Security-Token=FQoGZXIvYXdz&X-Amz-SignedHeaders=host&X-Amz-Signature=0123abcd"
	localURL = "http://127.0.0.1:7000/v1/blobs/jobs/j1/chunks/c0.mp4?expires=1765095300&sig=9f86d081884c7d65"
)

func assertClean(t *testing.T, s string) {
	t.Helper()
	for _, m := range secretMarkers {
		if strings.Contains(strings.ToLower(s), strings.ToLower(m)) {
			t.Errorf("%q still holds %q", s, m)
		}
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"s3 presigned", s3URL, "https://bucket.s3.amazonaws.com/videos/v1/source/original"},
		{"local presigned", localURL, "http://127.0.0.1:7000/v1/blobs/jobs/j1/chunks/c0.mp4"},
		{"user info and fragment", "https://user:pass@host/p?token=x#frag", "https://host/p"},
		{"relative", "/v1/blobs/k?expires=1&sig=ab", "/v1/blobs/k"},
		{"no query", "https://host/a/b", "https://host/a/b"},
		{"unparsable", "http://[::1/x?sig=ab", "http://[::1/x"},
		{"unparsable with user info", "s3://key:se@cret@buck%zz/p?token=t", "s3://buck%zz/p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URL(tt.in); got != tt.want {
				t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"quoted s3 url", `upload failed: PUT "` + s3URL + `": EOF`, `upload failed: PUT "https://bucket.s3.amazonaws.com/videos/v1/source/original": EOF`},
		{"bare local url", "fetch " + localURL + " failed", "fetch http://127.0.0.1:7000/v1/blobs/jobs/j1/chunks/c0.mp4 failed"},
		{"relative signed url", "GET /v1/blobs/k?expires=1&sig=ab: 403", "GET /v1/blobs/k: 403"},
		{"two urls", localURL + " then " + s3URL, "http://127.0.0.1:7000/v1/blobs/jobs/j1/chunks/c0.mp4 then https://bucket.s3.amazonaws.com/videos/v1/source/original"},
		{"url in parentheses", "(see https://h/p?sig=a&expires=2).", "(see https://h/p)."},
		{"url at the end", "GET https://h/p?token=a", "GET https://h/p"},
		{"question in prose", "is the source a video? it is not", "is the source a video? it is not"},
		{"issue reference", "see #12", "see #12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Text(tt.in)
			if got != tt.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			assertClean(t, got)
		})
	}
}

// TestErrorFromHTTPClient sends a request to a presigned URL nobody listens
// on: net/http's *url.Error quotes the whole URL, Error must not.
func TestErrorFromHTTPClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // now nothing listens there
	for _, raw := range []string{
		"http://" + addr + "/bucket/key?X-Amz-Credential=AK%2Fx&X-Amz-Signature=abc&X-Amz-Security-Token=t",
		"http://" + addr + "/v1/blobs/key?expires=1&sig=abc",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
		_, rerr := http.DefaultClient.Do(req)
		cancel()
		if rerr == nil {
			t.Fatalf("GET %s succeeded; want a dial error", addr)
		}
		if !strings.Contains(rerr.Error(), "?") {
			t.Fatalf("net/http's error %q no longer quotes the URL; the test proves nothing", rerr)
		}
		wrapped := fmt.Errorf("download input %q: %w", "source", rerr)
		got := Error(wrapped)
		assertClean(t, got.Error())
		if !strings.Contains(got.Error(), "http://"+addr+"/") || !strings.Contains(got.Error(), "connection refused") {
			t.Errorf("Error() = %q, want the URL without its query and the cause", got)
		}
		var ue *url.Error
		if !errors.As(got, &ue) {
			t.Errorf("errors.As(*url.Error) fails on %v", got)
		}
		var op *net.OpError
		if !errors.As(got, &op) {
			t.Errorf("errors.As(*net.OpError) fails on %v", got)
		}
	}
}

func TestErrorTextFallback(t *testing.T) {
	sentinel := errors.New("HTTP 403")
	err := fmt.Errorf("PUT %s: %w", localURL, sentinel)
	got := Error(err)
	assertClean(t, got.Error())
	if want := "PUT http://127.0.0.1:7000/v1/blobs/jobs/j1/chunks/c0.mp4: HTTP 403"; got.Error() != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(got, sentinel) {
		t.Errorf("errors.Is lost the sentinel through %v", got)
	}
}

func TestErrorKeepsCleanErrors(t *testing.T) {
	if Error(nil) != nil {
		t.Errorf("Error(nil) is not nil")
	}
	err := errors.New("not a media file")
	if got := Error(err); got != err {
		t.Errorf("Error(%v) = %v, want the same error", err, got)
	}
}
