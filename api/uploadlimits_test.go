package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/internal/miniotest"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// onEveryStore runs test on local storage and on a real MinIO, whose refusals differ: local
// storage answers an oversize PUT 413, S3 403 (the Content-Length is signed).
func onEveryStore(t *testing.T, test func(t *testing.T, oversize int, opts ...envOption)) {
	t.Run("local", func(t *testing.T) { test(t, http.StatusRequestEntityTooLarge) })
	t.Run("minio", func(t *testing.T) {
		srv := miniotest.Start(t)
		srv.Setenv(t)
		blobs, err := storage.Open(srv.URL("uploads"), storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		test(t, http.StatusForbidden, withBlobs(blobs))
	})
}

// multipartConfig makes uploads over 1 MiB multipart, in parts of S3's least size.
func multipartConfig(c *Config) {
	c.Uploads.SinglePutLimit, c.Uploads.PartSize = 1<<20, storage.MinPartSize
}

// rawPut PUTs body to url and returns the status and body of the answer.
func rawPut(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, data := roundTrip(t, http.DefaultClient, req, "")
	return resp.StatusCode, string(data)
}

// startMultipart creates a multipart upload of size bytes and returns its id and part URLs.
func (e *env) startMultipart(token string, size int) (string, map[int]string) {
	e.t.Helper()
	var created oapi.UploadCreated
	e.must(http.StatusCreated, "POST", "/api/v1/uploads", token, map[string]any{"title": "big", "filename": "big.mp4", "size": size}).decode(e.t, &created)
	if created.Upload.Method != oapi.Multipart {
		e.t.Fatalf("upload of %d bytes: method %s, want multipart", size, created.Upload.Method)
	}
	parts := make([]int, *created.Upload.PartCount)
	for i := range parts {
		parts[i] = i + 1
	}
	var urls oapi.PartURLs
	e.must(http.StatusOK, "POST", "/api/v1/uploads/"+created.VideoId+"/parts", token, map[string]any{"parts": parts}).decode(e.t, &urls)
	out := map[int]string{}
	for _, p := range urls.Parts {
		out[p.Number] = p.Url
	}
	return created.VideoId, out
}

// moveSource does what completing an upload does to a single-PUT upload's file, for tests
// that complete an upload in the database only.
func (e *env) moveSource(id string) {
	e.t.Helper()
	if err := e.blobs.(storage.Mover).Move(context.Background(), layout.Upload(id), layout.Source(id)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) blob(key string) []byte {
	e.t.Helper()
	rc, err := e.blobs.Get(context.Background(), key)
	if err != nil {
		e.t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

func (e *env) assertNoBlob(key string) {
	e.t.Helper()
	if _, err := e.blobs.Stat(context.Background(), key); !errors.Is(err, storage.ErrNotFound) {
		e.t.Errorf("%s is still stored (%v)", key, err)
	}
}

func TestUploadURLsTakeOnlyTheDeclaredSize(t *testing.T) {
	onEveryStore(t, func(t *testing.T, oversize int, opts ...envOption) {
		e := newEnv(t, append(opts, withConfig(multipartConfig))...)
		owner := e.user("owner")

		var created oapi.UploadCreated
		e.must(http.StatusCreated, "POST", "/api/v1/uploads", owner.Token, map[string]any{"title": "t", "filename": "f.mp4", "size": 5}).decode(t, &created)
		status, msg := rawPut(t, *created.Upload.Url, []byte("0123456789"))
		if status != oversize {
			t.Fatalf("PUT of 10 bytes to an upload of 5: status %d, want %d: %s", status, oversize, msg)
		}
		if oversize == http.StatusRequestEntityTooLarge && !strings.Contains(msg, "5 bytes declared") {
			t.Errorf("413 message %q does not say what was declared", msg)
		}
		e.must(http.StatusConflict, "POST", "/api/v1/uploads/"+created.VideoId+"/complete", owner.Token, nil)

		id, urls := e.startMultipart(owner.Token, storage.MinPartSize+10)
		status, msg = rawPut(t, urls[2], make([]byte, 11))
		if status != oversize {
			t.Fatalf("PUT of 11 bytes to a 10-byte part: status %d, want %d: %s", status, oversize, msg)
		}
		var state oapi.Upload
		e.must(http.StatusOK, "GET", "/api/v1/uploads/"+id, owner.Token, nil).decode(t, &state)
		if len(*state.UploadedParts) != 0 {
			t.Fatalf("a refused part is stored: %+v", *state.UploadedParts)
		}
	})
}

func TestNothingSwappedAfterComplete(t *testing.T) {
	onEveryStore(t, func(t *testing.T, _ int, opts ...envOption) {
		e := newEnv(t, append(opts, withConfig(multipartConfig))...)
		owner := e.user("owner")

		t.Run("single PUT", func(t *testing.T) {
			original := []byte("the checked original")
			created := e.upload(owner.Token, "single", original)
			e.must(http.StatusOK, "POST", "/api/v1/uploads/"+created.VideoId+"/complete", owner.Token, nil)
			// The URL may still answer, but what it writes is never read: the job reads the source.
			rawPut(t, *created.Upload.Url, bytes.Repeat([]byte("X"), len(original)))
			if got := e.blob(layout.Source(created.VideoId)); !bytes.Equal(got, original) {
				t.Fatalf("after a PUT past completion the source holds %q", got)
			}
		})

		t.Run("multipart", func(t *testing.T) {
			file := bytes.Repeat([]byte("m"), storage.MinPartSize+10)
			id, urls := e.startMultipart(owner.Token, len(file))
			put(t, urls[1], "", file[:storage.MinPartSize])
			put(t, urls[2], "", file[storage.MinPartSize:])
			e.must(http.StatusOK, "POST", "/api/v1/uploads/"+id+"/complete", owner.Token, nil)
			if status, msg := rawPut(t, urls[2], bytes.Repeat([]byte("X"), 10)); status != http.StatusNotFound {
				t.Errorf("part PUT after completion: status %d, want 404: %s", status, msg)
			}
			if got := e.blob(layout.Source(id)); !bytes.Equal(got, file) {
				t.Fatal("the source changed after completion")
			}
		})

		t.Run("avatar", func(t *testing.T) {
			pic := pngImage(t, 8, 8)
			up, r := e.uploadAvatar(owner.Token, "image/png", pic, http.StatusOK)
			var u oapi.User
			r.decode(t, &u)
			junk := bytes.Repeat([]byte("J"), len(pic))
			rawPut(t, up.Url, junk)
			if got := e.must(http.StatusOK, "GET", *u.AvatarUrl, "", nil).body; !bytes.Equal(got, pic) {
				t.Fatalf("the served avatar changed after a PUT to its upload URL: %q", got)
			}
		})
	})
}

func TestUploadQuotas(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.Uploads.MaxConcurrent, c.Uploads.DailyBytes = 2, 1000 }))
	create := func(token string, size int) response {
		return e.do("POST", "/api/v1/uploads", token, map[string]any{"title": "q", "filename": "q.mp4", "size": size})
	}

	t.Run("concurrent uploads", func(t *testing.T) {
		owner := e.user("busy")
		// Started at once, only two pass: the check and the grant are one step.
		answers := make([]response, 6)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() { answers[i] = create(owner.Token, 10) })
		}
		wg.Wait()
		var admitted []oapi.UploadCreated
		limited := 0
		for _, r := range answers {
			switch r.status {
			case http.StatusCreated:
				var c oapi.UploadCreated
				r.decode(t, &c)
				admitted = append(admitted, c)
			case http.StatusTooManyRequests:
				limited++
			}
		}
		if len(admitted) != 2 || limited != 4 {
			t.Fatalf("6 concurrent uploads with a quota of 2: %d admitted, %d refused", len(admitted), limited)
		}
		r := create(owner.Token, 10)
		if eb := r.errorBody(t); r.status != http.StatusTooManyRequests || eb.Code != codeRateLimited || !strings.Contains(eb.Message, "2 uploads in progress") {
			t.Fatalf("third upload: %d %+v", r.status, eb)
		}
		var rows int
		if err := e.db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM videos WHERE owner_id = $1::bigint`, owner.User.Id).Scan(&rows); err != nil || rows != 2 {
			t.Errorf("the owner has %d videos (%v), want the 2 admitted: refused uploads leave nothing", rows, err)
		}
		// Completing one frees its place.
		put(t, *admitted[0].Upload.Url, "", []byte("0123456789"))
		e.must(http.StatusOK, "POST", "/api/v1/uploads/"+admitted[0].VideoId+"/complete", owner.Token, nil)
		e.must(http.StatusCreated, "POST", "/api/v1/uploads", owner.Token, map[string]any{"title": "q", "filename": "q.mp4", "size": 10})
	})

	t.Run("bytes per day", func(t *testing.T) {
		owner := e.user("heavy")
		first := e.upload(owner.Token, "first", make([]byte, 600))
		e.must(http.StatusOK, "POST", "/api/v1/uploads/"+first.VideoId+"/complete", owner.Token, nil)
		e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+first.VideoId, owner.Token, nil)
		// Deleting the video does not give its bytes back.
		r := create(owner.Token, 500)
		eb := r.errorBody(t)
		if r.status != http.StatusTooManyRequests || !strings.Contains(eb.Message, "daily upload quota") || r.header.Get("Retry-After") == "" {
			t.Fatalf("over the daily quota: %d %+v, Retry-After %q", r.status, eb, r.header.Get("Retry-After"))
		}
		if r := create(owner.Token, 1001); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("an upload larger than the whole quota: %d, want 413: %s", r.status, r.body)
		}
		e.must(http.StatusCreated, "POST", "/api/v1/uploads", owner.Token, map[string]any{"title": "fits", "filename": "f.mp4", "size": 400})
		// A day later the quota is whole again.
		if _, err := e.db.Pool().Exec(t.Context(), `UPDATE upload_grants SET created_at = created_at - interval '24 hours 1 minute'`); err != nil {
			t.Fatal(err)
		}
		e.must(http.StatusCreated, "POST", "/api/v1/uploads", owner.Token, map[string]any{"title": "next day", "filename": "f.mp4", "size": 900})
	})
}

func TestUnfinishedUploadsExpire(t *testing.T) {
	onEveryStore(t, func(t *testing.T, _ int, opts ...envOption) {
		var offset atomic.Int64
		e := newEnv(t, append(opts, withConfig(func(c *Config) {
			multipartConfig(c)
			c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		}))...)
		owner := e.user("slow")
		ctx := context.Background()

		single := e.upload(owner.Token, "never completed", []byte("abandoned"))
		multi, urls := e.startMultipart(owner.Token, storage.MinPartSize+10)
		put(t, urls[1], "", make([]byte, storage.MinPartSize))
		multiUpload := e.video(multi).UploadID
		done := e.upload(owner.Token, "completed", []byte("kept"))
		e.must(http.StatusOK, "POST", "/api/v1/uploads/"+done.VideoId+"/complete", owner.Token, nil)
		// A PUT after completion writes the staging key: garbage, due when its URL expires.
		rawPut(t, *done.Upload.Url, []byte("late"))

		// Not yet expired: nothing happens.
		if err := e.srv.sweepUploads(ctx); err != nil {
			t.Fatal(err)
		}
		e.must(http.StatusOK, "GET", "/api/v1/uploads/"+single.VideoId, owner.Token, nil)

		// A day later, two replicas sweep at once.
		offset.Store(int64(24*time.Hour + time.Minute))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { errs[i] = e.srv.sweepUploads(ctx) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{single.VideoId, multi} {
			if _, err := e.db.Video(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("expired video %s: %v, want ErrNotFound", id, err)
			}
		}
		e.assertNoBlob(layout.Upload(single.VideoId))
		if _, err := e.blobs.(storage.Multipart).ListParts(ctx, layout.Source(multi), multiUpload); !errors.Is(err, storage.ErrNoSuchUpload) {
			t.Errorf("the expired multipart upload is still open: %v", err)
		}
		e.assertNoBlob(layout.Upload(done.VideoId))
		if got := e.blob(layout.Source(done.VideoId)); string(got) != "kept" {
			t.Errorf("the completed video's source holds %q", got)
		}
		if v := e.video(done.VideoId); v.Status == "uploading" {
			t.Errorf("completed video status %s", v.Status)
		}

		// What a URL may still write is deleted once the URLs have expired.
		rawPut(t, *single.Upload.Url, []byte("abandoned"))
		offset.Store(int64(26 * time.Hour))
		if err := e.srv.sweepUploads(ctx); err != nil {
			t.Fatal(err)
		}
		e.assertNoBlob(layout.Upload(single.VideoId))
		var left int
		if err := e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM blob_garbage`).Scan(&left); err != nil || left != 0 {
			t.Errorf("garbage left: %d (%v)", left, err)
		}
	})
}

// TestDeletedUploadLeavesNoOrphan: a video deleted while uploading keeps its single-PUT URL
// alive until it expires; what that URL writes afterwards is deleted by the sweep.
func TestDeletedUploadLeavesNoOrphan(t *testing.T) {
	var offset atomic.Int64
	e := newEnv(t, withConfig(func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	}))
	owner := e.user("quitter")
	created := e.upload(owner.Token, "deleted while uploading", []byte("first"))
	e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+created.VideoId, owner.Token, nil)
	rawPut(t, *created.Upload.Url, []byte("later"))

	offset.Store(int64(2 * time.Hour))
	if err := e.srv.sweepUploads(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.assertNoBlob(layout.Upload(created.VideoId))
}
