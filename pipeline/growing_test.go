package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/growfile"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
	"github.com/sunomi/sunomi/segmenter"
)

// faststartCFR is CFR with its index first, as most uploads are.
func faststartCFR(seconds int) testmedia.Spec {
	s := testmedia.CFR(seconds, 160, 90, 30, true)
	s.Name += "-faststart"
	s.Remux = []string{"-c", "copy", "-movflags", "+faststart"}
	return s
}

// growingSource starts a download of src's bytes into a temporary file,
// of which the first half is written at once.
func growingSource(t *testing.T, src string) (w *growfile.Writer, data []byte) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	w, err = growfile.Create(filepath.Join(t.TempDir(), "source"+filepath.Ext(src)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	if err := w.Restart(int64(len(data)), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	return w, data
}

// TestSplitGrowing: a split of a source still downloading reports its head
// before the download completes when the container's header comes first,
// only at the end when libav reads the end first (an MP4's moov atom last,
// an MPEG-TS file's last timestamps), and gives the result a split of the
// complete file gives.
func TestSplitGrowing(t *testing.T) {
	skipShort(t)
	for _, tc := range []struct {
		name  string
		spec  testmedia.Spec
		early bool // the head comes before the second half is written
	}{
		{"faststart mp4", faststartCFR(40), true},
		{"moov at the end", testmedia.CFR(40, 160, 90, 30, true), false},
		// libav times an MPEG-TS file by its last packets: it reads the
		// end of a seekable one while it opens it.
		{"mpeg-ts", testmedia.CFRTS(40, 160, 90, 30, true), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := testmedia.Generate(t, tc.spec)
			opts := media.Options{Segment: 2 * time.Second, Chunk: 6 * time.Second, FirstChunk: 2 * time.Second}
			whole, err := pipeline.Split(t.Context(), src, t.TempDir(), "out", opts)
			if err != nil {
				t.Fatal(err)
			}
			w, data := growingSource(t, src)
			headSeen := make(chan struct{})
			var rest atomic.Bool // the second half is being written
			fed := make(chan error, 1)
			go func() {
				select {
				case <-headSeen:
				case <-time.After(time.Second): // no head from the first half
				}
				rest.Store(true)
				_, err := w.Write(data[len(data)/2:])
				if err == nil {
					err = w.Commit()
				}
				fed <- err
			}()
			var early bool
			got, err := pipeline.SplitGrowing(t.Context(), w.File(), t.TempDir(), "out", opts, func(*media.SplitResult) error {
				early = !rest.Load()
				close(headSeen)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := <-fed; err != nil {
				t.Fatal(err)
			}
			if early != tc.early {
				t.Errorf("head before the second half: %v, want %v", early, tc.early)
			}
			if len(got.Chunks) != len(whole.Chunks) || got.Probe.Duration != whole.Probe.Duration || got.Probe.Size != whole.Probe.Size ||
				!reflect.DeepEqual(got.Video, whole.Video) || !reflect.DeepEqual(got.Probe.Video.Keyframes, whole.Probe.Video.Keyframes) {
				t.Errorf("split of the download: %d chunks, %.3f s, %d bytes, video %+v\nwant %d chunks, %.3f s, %d bytes, video %+v",
					len(got.Chunks), got.Probe.Duration, got.Probe.Size, got.Video, len(whole.Chunks), whole.Probe.Duration, whole.Probe.Size, whole.Video)
			}
			for i := range min(len(got.Chunks), len(whole.Chunks)) {
				if got.Chunks[i].Chunk != whole.Chunks[i].Chunk {
					t.Errorf("chunk %d: %+v, want %+v", i, got.Chunks[i].Chunk, whole.Chunks[i].Chunk)
				}
			}
		})
	}
}

// TestSplitGrowingFails: a download that fails, or a context canceled,
// while the split waits for bytes ends the split with that error — not an
// invalid-media verdict on half a file, and no hang.
func TestSplitGrowingFails(t *testing.T) {
	skipShort(t)
	opts := media.Options{Segment: 2 * time.Second, Chunk: 6 * time.Second, FirstChunk: 2 * time.Second}
	broken := errors.New("connection reset by peer")
	for _, tc := range []struct {
		name string
		spec testmedia.Spec
		stop func(w *growfile.Writer, cancel context.CancelCauseFunc)
		want error
	}{
		{"download fails after the head", faststartCFR(40), func(w *growfile.Writer, _ context.CancelCauseFunc) { w.Abort(broken) }, broken},
		{"download fails before the index", testmedia.CFR(40, 160, 90, 30, true), func(w *growfile.Writer, _ context.CancelCauseFunc) { w.Abort(broken) }, broken},
		{"canceled while waiting", testmedia.CFR(40, 160, 90, 30, true), func(_ *growfile.Writer, cancel context.CancelCauseFunc) { cancel(broken) }, broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := growingSource(t, testmedia.Generate(t, tc.spec))
			ctx, cancel := context.WithCancelCause(t.Context())
			defer cancel(nil)
			go func() {
				time.Sleep(300 * time.Millisecond) // the split reads the first half and waits
				tc.stop(w, cancel)
			}()
			done := make(chan error, 1)
			go func() {
				_, err := pipeline.SplitGrowing(ctx, w.File(), t.TempDir(), "out", opts, func(*media.SplitResult) error { return nil })
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) || errors.Is(err, segmenter.ErrInvalidMedia) || pipeline.IsPermanent(err) {
					t.Errorf("split: %v, want the download's error, not permanent", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("the split still waits")
			}
		})
	}
}
