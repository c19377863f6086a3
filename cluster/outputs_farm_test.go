package cluster_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/farmtest"
	"github.com/sunomi/sunomi/storage"
)

// putObjects stores each key with its own name as content.
func putObjects(t *testing.T, s storage.Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := s.Put(context.Background(), k, strings.NewReader(k), int64(len(k))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFarmJobCleansOnlyItsOwnObjects is the wipe attack: a job whose output
// names a prefix of other videos, and then is deleted, must not take them
// with it. Such prefixes are refused while another live job uses them, and
// a job's clean-up deletes what the job wrote, never a listing of its prefix.
func TestFarmJobCleansOnlyItsOwnObjects(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 0})
	s := openStorage(t, f)
	unrelated := []string{"videos/other/hls/master.m3u8", "videos/other/hls/720p/c00000_a1_00000.ts",
		"videos/c/hls/someone-else.ts", "videos/c/hlsx/master.m3u8", "videos/c/source/original"}
	putObjects(t, s, append([]string{"uploads/src.mp4"}, unrelated...)...)
	c := f.Client()
	ctx := context.Background()
	submit := func(output string) (wire.Job, int) {
		t.Helper()
		j, err := c.SubmitJob(ctx, "", wire.SubmitJob{Source: "uploads/src.mp4", Output: output})
		var apiErr *client.APIError
		switch {
		case err == nil:
			return j, http.StatusCreated
		case errors.As(err, &apiErr):
			if !strings.Contains(apiErr.Message, "output") {
				t.Errorf("output %q refused with %q, want a message about the output", output, apiErr.Message)
			}
			return j, apiErr.Status
		}
		t.Fatalf("submit output %q: %v", output, err)
		return j, 0
	}
	live, status := submit("videos/a/hls")
	if status != http.StatusCreated {
		t.Fatalf("submit videos/a/hls: status %d", status)
	}
	for _, tt := range []struct {
		output string
		want   int
	}{
		{"videos", http.StatusBadRequest},
		{"videos/", http.StatusBadRequest},
		{"/videos/x", http.StatusBadRequest},
		{"videos/../x", http.StatusBadRequest},
		{"jobs/x/hls", http.StatusBadRequest},
		{"videos/a/hls", http.StatusConflict},
		{"videos/a", http.StatusConflict},
		{"videos/a/hls/720p", http.StatusConflict},
	} {
		t.Run(tt.output, func(t *testing.T) {
			j, got := submit(tt.output)
			if got != tt.want {
				t.Errorf("submit output %q: status %d, want %d", tt.output, got, tt.want)
			}
			if got == http.StatusCreated {
				_ = c.CancelJob(ctx, j.ID) // and let the test see what its clean-up deletes
			}
		})
	}

	// A job's own playlists go with it; whatever else lives under or beside
	// its prefix stays.
	j, status := submit("videos/c/hls")
	if status != http.StatusCreated {
		t.Fatalf("submit videos/c/hls: status %d", status)
	}
	putObjects(t, s, "videos/c/hls/master.m3u8") // as the leader publishes it while chunks finish
	if err := c.CancelJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	f.Eventually(20*time.Second, "the canceled job's playlist collected", func(ctx context.Context) (bool, error) {
		_, err := s.Stat(ctx, "videos/c/hls/master.m3u8")
		return errors.Is(err, storage.ErrNotFound), nil
	})
	for _, k := range unrelated {
		if _, err := s.Stat(ctx, k); err != nil {
			t.Errorf("%s: %v, want it kept", k, err)
		}
	}

	// The prefix is free again once the job that held it has finished.
	if err := c.CancelJob(ctx, live.ID); err != nil {
		t.Fatal(err)
	}
	if _, status := submit("videos/a"); status != http.StatusCreated {
		t.Errorf("submit videos/a after videos/a/hls finished: status %d, want %d", status, http.StatusCreated)
	}
}

// TestFarmRefusesURLsSignedWithTheClusterToken: file:// storage signs its
// URLs with the coordinators' own secret, so an agent, which holds the
// cluster credentials but not that secret, cannot sign URLs of its own.
func TestFarmRefusesURLsSignedWithTheClusterToken(t *testing.T) {
	skipShort(t)
	f := farmtest.Start(t, farmtest.Options{Coordinators: 1, Agents: 0})
	putObjects(t, openStorage(t, f), "uploads/src.mp4")
	base := f.Coordinators[0].URL()
	agentHTTP := &http.Client{Transport: client.Transport(f.CA.Material(pki.RoleAgent, "a1"))}
	signer := func(secret []byte) *storage.Local {
		l, err := storage.NewLocal(t.TempDir(), storage.Options{PublicURL: base, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	do := func(method, u string) int {
		t.Helper()
		req, err := http.NewRequest(method, u, bytes.NewReader([]byte("forged")))
		if err != nil {
			t.Fatal(err)
		}
		// An agent's certificate gets it through the coordinator's TLS;
		// only the URL's signature may decide.
		resp, err := agentHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ctx := context.Background()
	// The key every agent could derive before: from the cluster token all
	// of them held.
	old := sha256.Sum256([]byte("sunomi-blobs:" + "farmtest-token"))
	for name, l := range map[string]*storage.Local{"token-derived": signer(old[:]), "farm's": signer([]byte(farmtest.StorageSecret))} {
		get, err := l.PresignGet(ctx, "uploads/src.mp4", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		put, err := l.PresignPut(ctx, "videos/forged/hls/master.m3u8", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{http.MethodGet: http.StatusForbidden, http.MethodPut: http.StatusForbidden}
		if name == "farm's" {
			want = map[string]int{http.MethodGet: http.StatusOK, http.MethodPut: http.StatusOK}
		}
		for method, u := range map[string]string{http.MethodGet: get, http.MethodPut: put} {
			if got := do(method, u); got != want[method] {
				t.Errorf("%s with a URL signed by the %s key: status %d, want %d", method, name, got, want[method])
			}
		}
	}
}
