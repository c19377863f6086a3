package cluster_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// TestFarmFMP4 runs an fMP4 job on two agents: a DASH manifest grows while
// it encodes and is static at the end, the published ladder decodes, keeps
// its init segments through the clean-up, and its fragments are numbered
// across the chunks that different agents encoded.
func TestFarmFMP4(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 2})
	src := testmedia.Generate(t, testmedia.CFR(12, 320, 240, 25, true))
	opts := smallJob
	opts.Segments = "fmp4"
	j := f.Submit(src, opts)
	s := openStorage(t, f)
	read := func(ctx context.Context, key string) ([]byte, error) { return readObject(ctx, s, key) }
	sawDynamic := false
	f.Eventually(2*time.Minute, "a dynamic manifest or the end of the job", func(ctx context.Context) (bool, error) {
		job, err := f.Client().Job(ctx, j.ID)
		if err != nil {
			return false, err
		}
		b, err := read(ctx, job.Output+"/"+layout.DASHManifest)
		if err == nil && !job.State.Finished() {
			m, err := hls.ParseDASHManifest(b)
			if err != nil {
				t.Fatalf("manifest while encoding: %v\n%s", err, b)
			}
			sawDynamic = sawDynamic || m.Dynamic
		}
		return sawDynamic || job.State.Finished(), nil
	})
	if !sawDynamic {
		t.Log("the job ended before a growing manifest was seen")
	}
	j = f.WaitJob(j.ID, 3*time.Minute)
	wantPublished(t, f, j, 300)
	dir := fetchOutput(t, s, j.Output)

	pl, err := hls.ParseMediaPlaylist(mustReadFile(t, filepath.Join(dir, "240p", layout.MediaPlaylist)))
	if err != nil {
		t.Fatal(err)
	}
	if pl.Map == "" {
		t.Fatal("240p playlist has no EXT-X-MAP")
	}
	mustReadFile(t, filepath.Join(dir, "240p", pl.Map))
	chunks := map[string]bool{}
	for i, seg := range pl.Segments {
		chunks[seg.URI[:len("c00000")]] = true
		b := mustReadFile(t, filepath.Join(dir, "240p", seg.URI))
		k := bytes.Index(b, []byte("mfhd"))
		if k < 0 || len(b) < k+12 {
			t.Fatalf("%s has no mfhd", seg.URI)
		}
		if got := binary.BigEndian.Uint32(b[k+8:]); got != uint32(i+1) {
			t.Errorf("%s: mfhd sequence %d, want %d", seg.URI, got, i+1)
		}
	}
	if len(chunks) < 3 {
		t.Errorf("segments come from chunks %v, want at least 3", chunks)
	}
	m, err := hls.ParseDASHManifest(mustReadFile(t, filepath.Join(dir, layout.DASHManifest)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Dynamic {
		t.Error("final manifest is dynamic, want static")
	}
	for _, set := range m.Sets {
		for _, r := range set.Representations {
			for _, uri := range append([]string{r.Init}, segmentURIs(r)...) {
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(uri))); err != nil {
					t.Errorf("manifest names %s: %v", uri, err)
				}
			}
		}
	}
}

func segmentURIs(r hls.DASHRepresentation) []string {
	var uris []string
	for _, s := range r.Segments {
		uris = append(uris, path.Clean(s.URI))
	}
	return uris
}

func mustReadFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readObject reads a whole object of the farm's storage.
func readObject(ctx context.Context, s storage.Store, key string) ([]byte, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
