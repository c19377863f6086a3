package api

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/storage/layout"
)

// av1Clip is a small clip whose AV1 rungs take seconds to encode.
func av1Clip(t *testing.T) string {
	return testmedia.Generate(t, testmedia.Spec{Name: "testsrc-4s-640x360", Ext: "mp4", Args: []string{
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30,trim=duration=4",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
	}})
}

// av1Variant matches an AV1 variant of a master playlist and its playlist's URI.
var av1Variant = regexp.MustCompile(`CODECS="av01\.[^"]*"[^\n]*\n(\S+-av1/playlist\.m3u8)`)

// wantAV1Served waits for an AV1 variant in the video's master playlist and checks that the
// API serves its fMP4 playlist.
func (e *env) wantAV1Served(id string) {
	e.t.Helper()
	base := mediaPrefix + id + "/"
	var master []byte
	eventually(e.t, 5*time.Minute, "an AV1 variant in the master playlist", func() bool {
		master = e.must(http.StatusOK, "GET", base+"master.m3u8", "", nil).body
		return av1Variant.Match(master)
	})
	playlist := string(av1Variant.FindSubmatch(master)[1])
	body := e.must(http.StatusOK, "GET", base+playlist, "", nil).body
	if !strings.Contains(string(body), "#EXT-X-MAP:") {
		e.t.Errorf("%s is no fMP4 playlist:\n%s", playlist, body)
	}
}

// TestAV1AllThroughTheFarm: under --av1 all a new video is published with its H.264 ladder,
// and the AV1 rungs the farm adds afterwards are listed in the master playlist and served
// through the API like the others.
func TestAV1AllThroughTheFarm(t *testing.T) {
	if testing.Short() {
		t.Skip("transcodes a clip with AV1 rungs on a real farm")
	}
	e := newEnv(t, withFarm(1), withConfig(func(c *Config) { c.AV1.Policy, c.Segments = media.AV1All, media.SegmentsFMP4 }))
	owner := e.user("owner")
	v := e.transcodeAndWait(owner.Token, "AV1", av1Clip(t))
	e.wantAV1Served(v.ID)
	if got := e.av1Row(v.ID); !got.requested || !got.sent || got.segments != "fmp4" {
		t.Errorf("video records %+v, want fMP4 with its AV1 request sent", got)
	}
}

// TestAV1PopularThroughTheFarm: under --av1 popular a video is published with H.264 only, and
// gets its AV1 rungs from the farm once its views reach the minimum.
func TestAV1PopularThroughTheFarm(t *testing.T) {
	if testing.Short() {
		t.Skip("transcodes a clip with AV1 rungs on a real farm")
	}
	e := newEnv(t, withFarm(1), withConfig(func(c *Config) {
		c.AV1, c.Segments = AV1Config{Policy: AV1Popular, MinViews: 1}, media.SegmentsFMP4
	}))
	owner := e.user("owner")
	v := e.transcodeAndWait(owner.Token, "popular", av1Clip(t))
	master := e.must(http.StatusOK, "GET", mediaPrefix+v.ID+"/master.m3u8", "", nil).body
	if av1Variant.Match(master) {
		t.Fatalf("an AV1 variant before any view:\n%s", master)
	}
	e.viewFrom("127.0.0.2", v.ID, "", "", nil)
	e.wantAV1Served(v.ID)
	if got := e.av1Row(v.ID); !got.requested || !got.sent {
		t.Errorf("video records %+v, want its AV1 request sent", got)
	}
}

// TestDeleteDuringAV1ThroughTheFarm: a video deleted once published, while the farm still
// encodes its AV1 rungs, has its AV1 job canceled and leaves no file behind.
func TestDeleteDuringAV1ThroughTheFarm(t *testing.T) {
	if testing.Short() {
		t.Skip("transcodes a clip with AV1 rungs on a real farm")
	}
	clip := testmedia.Generate(t, testmedia.Spec{Name: "testsrc-8s-1280x720", Ext: "mp4", Args: []string{
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30,trim=duration=8",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
	}})
	e := newEnv(t, withFarm(1), withConfig(func(c *Config) { c.AV1.Policy, c.Segments = media.AV1All, media.SegmentsFMP4 }))
	owner := e.user("owner")
	v := e.transcodeAndWait(owner.Token, "AV1", clip)
	av1, err := e.farm.Client().Job(t.Context(), v.JobID+"-av1")
	if err != nil || av1.State.Finished() {
		t.Fatalf("AV1 job at publication: %+v, %v; want one unfinished", av1, err)
	}
	e.must(http.StatusNoContent, "DELETE", "/api/v1/videos/"+v.ID, owner.Token, nil)
	eventually(t, time.Minute, "the AV1 job to end", func() bool {
		av1, err = e.farm.Client().Job(t.Context(), v.JobID+"-av1")
		return err == nil && av1.State.Finished()
	})
	if av1.State != "canceled" {
		t.Errorf("AV1 job ended %s, want canceled", av1.State)
	}
	time.Sleep(5 * time.Second) // let attempts still running notice the cancellation
	if left, err := e.blobs.List(t.Context(), layout.Video(v.ID)); err != nil || len(left) != 0 {
		t.Errorf("left under the deleted video: %v (%v), want nothing", left, err)
	}
}
