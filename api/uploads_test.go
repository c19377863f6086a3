package api

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/storage/layout"
)

func TestMultipartUploadResumes(t *testing.T) {
	const partSize = 5 << 20
	e := newEnv(t, withFarm(0), withConfig(func(c *Config) { c.Uploads.SinglePutLimit = 1 << 20; c.Uploads.PartSize = partSize }))
	owner := e.user("owner")
	file := make([]byte, 2*partSize+1234)
	_, _ = rand.Read(file)

	var created oapi.UploadCreated
	e.must(http.StatusCreated, "POST", "/api/v1/uploads", owner.Token, map[string]any{
		"title": "big", "filename": "big.mp4", "size": len(file),
	}).decode(t, &created)
	up := created.Upload
	if up.Method != oapi.Multipart || *up.PartSize != partSize || *up.PartCount != 3 || len(*up.UploadedParts) != 0 {
		t.Fatalf("upload = %+v", up)
	}
	id := created.VideoId
	part := func(n int) []byte { return file[(n-1)*partSize : min(n*partSize, len(file))] }

	// The client sends parts 1 and 3, then "crashes".
	var urls oapi.PartURLs
	e.must(http.StatusOK, "POST", "/api/v1/uploads/"+id+"/parts", owner.Token, map[string]any{"parts": []int{1, 3}}).decode(t, &urls)
	for _, p := range urls.Parts {
		put(t, p.Url, "", part(p.Number))
	}
	r := e.must(http.StatusConflict, "POST", "/api/v1/uploads/"+id+"/complete", owner.Token, nil)
	if msg := r.errorBody(t).Message; !strings.Contains(msg, "2 of 3 parts") {
		t.Errorf("incomplete upload: %q", msg)
	}

	// It resumes: asks what is stored, uploads the rest.
	var state oapi.Upload
	e.must(http.StatusOK, "GET", "/api/v1/uploads/"+id, owner.Token, nil).decode(t, &state)
	stored := map[int]int64{}
	for _, p := range *state.UploadedParts {
		stored[p.Number] = p.Size
	}
	if len(stored) != 2 || stored[1] != partSize || stored[3] != 1234 {
		t.Fatalf("uploaded parts = %v", stored)
	}
	e.must(http.StatusOK, "POST", "/api/v1/uploads/"+id+"/parts", owner.Token, map[string]any{"parts": []int{2}}).decode(t, &urls)
	put(t, urls.Parts[0].Url, "", part(2))

	for _, bad := range [][]int{{0}, {4}, {}} {
		e.must(http.StatusBadRequest, "POST", "/api/v1/uploads/"+id+"/parts", owner.Token, map[string]any{"parts": bad}).errorBody(t)
	}

	var v oapi.Video
	e.must(http.StatusOK, "POST", "/api/v1/uploads/"+id+"/complete", owner.Token, nil).decode(t, &v)
	if v.Status != oapi.VideoStatusQueued {
		t.Fatalf("status after complete = %s", v.Status)
	}
	got, err := e.blobs.Get(t.Context(), layout.Source(id))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got)
	got.Close()
	if !bytes.Equal(data, file) {
		t.Fatalf("assembled source differs from the file (%d vs %d bytes)", len(data), len(file))
	}
	// The farm has the job.
	job, err := e.farm.Client().Job(t.Context(), e.video(id).JobID)
	if err != nil || job.Source != layout.Source(id) {
		t.Fatalf("job = %+v, %v", job, err)
	}
	// After completion the upload is closed.
	e.must(http.StatusConflict, "GET", "/api/v1/uploads/"+id, owner.Token, nil)
	e.must(http.StatusConflict, "POST", "/api/v1/uploads/"+id+"/parts", owner.Token, map[string]any{"parts": []int{1}})
}

func TestCompleteUpload(t *testing.T) {
	e := newEnv(t, withFarm(0))
	owner := e.user("owner")

	// Completing before the file is there is refused; nothing is submitted.
	var created oapi.UploadCreated
	e.must(http.StatusCreated, "POST", "/api/v1/uploads", owner.Token, map[string]any{"title": "t", "filename": "f.mp4", "size": 5}).decode(t, &created)
	e.must(http.StatusConflict, "POST", "/api/v1/uploads/"+created.VideoId+"/complete", owner.Token, nil).errorBody(t)
	// A file of another size than declared is refused: a larger one by the upload URL itself
	// (TestUploadURLsTakeOnlyTheDeclaredSize), a shorter one at completion.
	put(t, *created.Upload.Url, "", []byte("012"))
	r := e.must(http.StatusBadRequest, "POST", "/api/v1/uploads/"+created.VideoId+"/complete", owner.Token, nil)
	if msg := r.errorBody(t).Message; !strings.Contains(msg, "3 bytes") {
		t.Errorf("size mismatch message %q", msg)
	}
	if e.video(created.VideoId).Status != store.StatusUploading {
		t.Fatal("a refused complete changed the status")
	}
	// Upload again, correctly: complete queues the job, and completing again changes nothing.
	put(t, *created.Upload.Url, "", []byte("01234"))
	var first, second oapi.Video
	e.must(http.StatusOK, "POST", "/api/v1/uploads/"+created.VideoId+"/complete", owner.Token, nil).decode(t, &first)
	e.must(http.StatusOK, "POST", "/api/v1/uploads/"+created.VideoId+"/complete", owner.Token, nil).decode(t, &second)
	if first.Status != oapi.VideoStatusQueued || second.Status != first.Status {
		t.Fatalf("complete twice: %s then %s", first.Status, second.Status)
	}
	jobs, err := e.farm.Client().Jobs(t.Context())
	if err != nil || len(jobs) != 1 {
		t.Fatalf("farm jobs = %d (%v), want exactly 1", len(jobs), err)
	}
}

func TestUploadLimits(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.Uploads.MaxSize = 1 << 30 }))
	owner := e.user("owner")
	r := e.must(http.StatusRequestEntityTooLarge, "POST", "/api/v1/uploads", owner.Token, map[string]any{
		"title": "huge", "filename": "huge.mp4", "size": int64(1<<30) + 1,
	})
	if got := r.errorBody(t); got.Code != codeTooLarge || !strings.Contains(got.Message, "1.0 GiB") {
		t.Errorf("error %+v", got)
	}
	// The default is 20 GiB, with multipart parts sized to stay under S3's 10,000 parts.
	var created oapi.UploadCreated
	d := newEnv(t)
	d.must(http.StatusCreated, "POST", "/api/v1/uploads", d.user("owner").Token, map[string]any{
		"title": "big", "filename": "big.mp4", "size": int64(20 << 30),
	}).decode(t, &created)
	if n := *created.Upload.PartCount; n > 10000 || *created.Upload.PartSize < 16<<20 {
		t.Fatalf("20 GiB upload: %d parts of %d bytes", n, *created.Upload.PartSize)
	}
	d.must(http.StatusRequestEntityTooLarge, "POST", "/api/v1/uploads", d.user("owner").Token, map[string]any{
		"title": "big", "filename": "big.mp4", "size": int64(20<<30) + 1,
	})
}
