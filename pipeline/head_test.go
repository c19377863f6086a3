package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/pipeline"
)

// TestSplitWithHead: the head comes after the first chunk was read, long
// before the end of the source, and the split that reports it gives the
// same result and the same extracted files, byte for byte, as a split that
// reads the whole source first — including a source whose second chunk
// starts at the first chunk's keyframe (a GOP longer than a chunk).
func TestSplitWithHead(t *testing.T) {
	skipShort(t)
	for _, tc := range []struct {
		name string
		spec testmedia.Spec
	}{
		{"cfr", testmedia.CFR(40, 160, 90, 30, true)},
		{"long GOP", testmedia.LongGOP(50)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := testmedia.Generate(t, tc.spec)
			opts := media.Options{Segment: 2 * time.Second, Chunk: 6 * time.Second, FirstChunk: 2 * time.Second}
			whole, err := pipeline.Split(context.Background(), src, t.TempDir(), "out", opts)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var heads []*media.SplitResult
			var headChunk []byte
			streamed, err := pipeline.SplitWithHead(context.Background(), src, dir, "out", opts, func(h *media.SplitResult) error {
				heads = append(heads, h)
				headChunk, err = os.ReadFile(h.Extracted.Chunks[0])
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(heads) != 1 {
				t.Fatalf("%d heads, want one", len(heads))
			}
			head := heads[0]
			if read, all := head.Probe.Video.Frames, whole.Probe.Video.Frames; read*2 > all {
				t.Errorf("the head came after %d of %d frames, want within the first half", read, all)
			}
			if len(head.Chunks) != 1 || head.Chunks[0].Chunk != whole.Chunks[0].Chunk || !reflect.DeepEqual(head.Video, whole.Video) {
				t.Errorf("head: chunks %+v, video %+v\nwant chunk %+v, video %+v", head.Chunks, head.Video, whole.Chunks[0].Chunk, whole.Video)
			}
			if head.Audio == nil {
				t.Errorf("the head says nothing of the audio stream: a master playlist could be published without it")
			}
			if !reflect.DeepEqual(streamed.Plan, whole.Plan) || !reflect.DeepEqual(streamed.Video, whole.Video) {
				t.Errorf("streamed split's plan or video differ:\n got %+v %+v\nwant %+v %+v", streamed.Plan, streamed.Video, whole.Plan, whole.Video)
			}
			if len(streamed.Extracted.Chunks) != len(whole.Extracted.Chunks) || len(whole.Chunks) < 3 {
				t.Fatalf("streamed split has %d chunks, the whole one %d (want at least 3)", len(streamed.Extracted.Chunks), len(whole.Extracted.Chunks))
			}
			files := append([]string{whole.Extracted.Audio}, whole.Extracted.Chunks...)
			for _, f := range files {
				want, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(dir, filepath.Base(f)))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the whole split's (%d bytes, want %d)", filepath.Base(f), len(got), len(want))
				}
			}
			if !bytes.Equal(headChunk, mustRead(t, filepath.Dir(whole.Extracted.Chunks[0]), filepath.Base(whole.Extracted.Chunks[0]))) {
				t.Errorf("the first chunk was not complete when the head was reported")
			}
		})
	}
}

// TestSplitWithHeadKeepsItsSettings: a source whose frame rate varies only
// after its first chunk gets the settings its head decided (its first chunk
// is encoded with them and every rung must stay aligned), and a warning.
func TestSplitWithHeadKeepsItsSettings(t *testing.T) {
	skipShort(t)
	src := testmedia.Generate(t, testmedia.VFR(20))
	opts := media.Options{Segment: 2 * time.Second, Chunk: 6 * time.Second, FirstChunk: 2 * time.Second}
	whole, err := pipeline.Split(context.Background(), src, t.TempDir(), "out", opts)
	if err != nil {
		t.Fatal(err)
	}
	var head *media.SplitResult
	streamed, err := pipeline.SplitWithHead(context.Background(), src, t.TempDir(), "out", opts, func(h *media.SplitResult) error {
		head = h
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if head == nil || reflect.DeepEqual(head.Video, whole.Video) {
		t.Fatalf("head video %+v, whole %+v: want the head to differ", head, whole.Video)
	}
	if !reflect.DeepEqual(streamed.Video, head.Video) {
		t.Errorf("streamed split's video %+v, want the head's %+v", streamed.Video, head.Video)
	}
	if !slices.ContainsFunc(streamed.Probe.Warnings, func(w string) bool { return strings.Contains(w, "than its start") }) {
		t.Errorf("warnings %q, want one saying the job keeps its start's settings", streamed.Probe.Warnings)
	}
}
