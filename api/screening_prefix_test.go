package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/phash"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// growingLadder is a ladder three chunks into its transcode, as the leader publishes it: EVENT
// playlists over chunks 0 and 1 (two 2 s segments each), their segments and thumbnails.
var growingLadder = map[string]string{
	"hls/360p/playlist.m3u8": "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n" +
		"#EXTINF:2.000000,\nc00000_a1_00000.ts\n#EXTINF:2.000000,\nc00000_a1_00001.ts\n" +
		"#EXTINF:2.000000,\nc00001_a1_00002.ts\n#EXTINF:2.000000,\nc00001_a1_00003.ts\n",
	"hls/audio/playlist.m3u8": "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n" +
		"#EXTINF:2.000000,\na1_00000.ts\n#EXTINF:2.000000,\na1_00001.ts\n#EXTINF:2.000000,\na1_00002.ts\n#EXTINF:2.000000,\na1_00003.ts\n",
	"hls/360p/c00000_a1_00000.ts":   strings.Repeat("G", 188),
	"hls/360p/c00000_a1_00001.ts":   strings.Repeat("G", 188),
	"hls/360p/c00001_a1_00002.ts":   strings.Repeat("G", 188),
	"hls/360p/c00001_a1_00003.ts":   strings.Repeat("G", 188),
	"hls/audio/a1_00000.ts":         strings.Repeat("G", 188),
	"hls/audio/a1_00003.ts":         strings.Repeat("G", 188),
	"hls/thumbs/c00000_a1_t000.jpg": "\xff\xd8\xff\xe0chunk0",
	"hls/thumbs/c00001_a1_t000.jpg": "\xff\xd8\xff\xe0chunk1",
}

// frameHashes are five informative frame hashes (about half their bits set), one every 2 s.
var frameHashes = []phash.Hash{0x5a5a_3c3c_0ff0_a5a5, 0x1234_5678_9abc_def0, 0x0f0f_f0f0_3333_cccc,
	0x7e81_7e81_55aa_55aa, 0x6996_9669_c3c3_3c3c}

// screeningPrefix is the leader's screening.json over the first chunks of growingLadder.
func screeningPrefix(t *testing.T, chunks int, hashes []phash.Hash) string {
	t.Helper()
	p := media.ScreeningPrefix{Chunks: chunks, Seconds: 4 * float64(chunks), Frames: []media.ImageFile{}}
	for i := range chunks {
		p.Frames = append(p.Frames, media.ImageFile{Time: 4 * float64(i), File: "thumbs/c0000" + string(rune('0'+i)) + "_a1_t000.jpg"})
	}
	if hashes != nil {
		p.PHash = &phash.Track{IntervalSeconds: 2, Hashes: hashes}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// encodingJob is the farm's job of video id, chunksDone chunks finished and playable.
func encodingJob(id string, chunksDone int) wire.Job {
	playable := time.Now()
	return wire.Job{ID: "job-" + id, State: scheduler.JobEncoding, PlayableAt: &playable, ChunksDone: chunksDone, ChunksTotal: 3}
}

// segmentsOf lists the URIs a playlist lists, without their queries.
func segmentsOf(playlist []byte) []string {
	var uris []string
	for line := range strings.Lines(string(playlist)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			uri, _, _ := strings.Cut(line, "?")
			uris = append(uris, uri)
		}
	}
	return uris
}

// TestScreeningPrefixOpensScreenedChunks: while a clean public video transcodes, each chunk is
// screened as the leader publishes it (the classifier sees its thumbnails), and others watch
// it up to there: playlists cut at the screened chunks, later segments and the thumbnails
// refused. The owner watches everything transcoded. When a later chunk is held, others lose
// even the chunks they could watch.
func TestScreeningPrefixOpensScreenedChunks(t *testing.T) {
	e, stub := newClassifierEnv(t, false)
	owner, other := e.user("owner"), e.user("other")
	id := e.jobEndedVideo(owner, "Screened as it transcodes", growingLadder)
	if err := e.srv.publisher.jobChanged(t.Context(), id, encodingJob(id, 1)); err != nil {
		t.Fatal(err)
	}
	if v := e.video(id); v.Screening != store.ScreeningPending {
		t.Fatalf("screening %s before the leader published a prefix, want pending", v.Screening)
	}
	e.refusedToOthers(id, other, []string{layout.MasterPlaylist, "360p/playlist.m3u8", "360p/c00000_a1_00000.ts"})

	e.putBlob(layout.Ladder(id, layout.ScreeningFile), screeningPrefix(t, 1, frameHashes[:2]))
	if err := e.srv.publisher.jobChanged(t.Context(), id, encodingJob(id, 1)); err != nil {
		t.Fatal(err)
	}
	v := e.video(id)
	if v.Status != store.StatusProcessing || v.Screening != store.ScreeningPassed || v.ScreenedChunks != 1 || v.ScreenedSeconds != 4 {
		t.Fatalf("after the first chunk was screened: %s, screening %s, %d chunks / %g s; want processing, passed, 1 / 4 s",
			v.Status, v.Screening, v.ScreenedChunks, v.ScreenedSeconds)
	}
	if got := stub.requests(); len(got) != 1 || len(got[0].Images) != 1 || got[0].Images[0].Name != "thumbs/c00000_a1_t000.jpg" {
		t.Fatalf("classifier requests %+v, want one with chunk 0's thumbnail", got)
	}

	var anon oapi.Video
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, "", nil).decode(t, &anon)
	if anon.Playback == nil || anon.PlayableAt == nil || anon.ScreenedSeconds != nil || anon.PublicPlayableAt != nil {
		t.Fatalf("anonymous view of a screened video in flight: %+v; want playback and playableAt, not the owner's fields", anon)
	}
	base := mediaPrefix + id + "/"
	e.must(http.StatusOK, "GET", base+layout.MasterPlaylist, "", nil)
	for rung, want := range map[string][]string{"360p": {"c00000_a1_00000.ts", "c00000_a1_00001.ts"}, "audio": {"a1_00000.ts", "a1_00001.ts"}} {
		pl := e.must(http.StatusOK, "GET", base+rung+"/playlist.m3u8", "", nil)
		if got := segmentsOf(pl.body); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s playlist for others lists %v, want the screened %v", rung, got, want)
		}
		if cc := pl.header.Get("Cache-Control"); cc != "private, no-cache" {
			t.Errorf("%s playlist of a video in flight: Cache-Control %q", rung, cc)
		}
	}
	e.must(http.StatusOK, "GET", base+"360p/c00000_a1_00000.ts", "", nil)
	for _, rel := range []string{"360p/c00001_a1_00002.ts", "audio/a1_00003.ts", "thumbs/c00000_a1_t000.jpg"} {
		if r := e.do("GET", base+rel, "", nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s (not screened, or not media) by others: status %d, want 404", rel, r.status)
		}
	}

	// The owner's token opens everything transcoded so far.
	ov := e.apiVideo(id, owner.Token)
	if ov.ScreenedSeconds == nil || *ov.ScreenedSeconds != 4 || ov.PublicPlayableAt == nil {
		t.Errorf("owner's view: screenedSeconds %v, publicPlayableAt %v", ov.ScreenedSeconds, ov.PublicPlayableAt)
	}
	_, query, _ := strings.Cut(ov.Playback.MasterUrl, "?")
	// The video is open to others by now; the owner's player still follows the token from the
	// master playlist on, or it would see only the screened part.
	if master := e.must(http.StatusOK, "GET", ov.Playback.MasterUrl, "", nil); !strings.Contains(string(master.body), "360p/playlist.m3u8?"+query) {
		t.Errorf("the owner's master playlist does not hand on the token:\n%s", master.body)
	}
	if got := segmentsOf(e.must(http.StatusOK, "GET", base+"360p/playlist.m3u8?"+query, "", nil).body); len(got) != 4 {
		t.Errorf("owner's playlist lists %v, want all 4 segments", got)
	}
	e.must(http.StatusOK, "GET", base+"360p/c00001_a1_00002.ts?"+query, "", nil)
	// A viewer's token (what others get for an unlisted video) opens no more than no token.
	viewer := e.srv.mediaToken(id, time.Now().Add(time.Hour), screenedScope)
	if r := e.do("GET", base+"360p/c00001_a1_00002.ts?token="+viewer, "", nil); r.status != http.StatusNotFound {
		t.Errorf("a viewer token opened an unscreened segment: status %d", r.status)
	}

	// Chunk 1 is held by the classifier: nobody but the owner and moderators sees anything more,
	// not even chunk 0.
	stub.set([]moderationLabel{{Name: "Graphic Violence", Confidence: 98}}, 0, 0)
	e.putBlob(layout.Ladder(id, layout.ScreeningFile), screeningPrefix(t, 2, frameHashes[:4]))
	if err := e.srv.publisher.jobChanged(t.Context(), id, encodingJob(id, 2)); err != nil {
		t.Fatal(err)
	}
	if v := e.video(id); v.Screening != store.ScreeningHeld || v.Moderation != store.ModerationHeld || v.ScreenedChunks != 2 {
		t.Fatalf("after chunk 1 was held: screening %s, moderation %s, %d chunks", v.Screening, v.Moderation, v.ScreenedChunks)
	}
	if got := stub.requests(); len(got) != 1 || len(got[0].Images) != 1 || got[0].Images[0].Name != "thumbs/c00001_a1_t000.jpg" {
		t.Errorf("classifier requests since the labels changed: %+v, want one with chunk 1's thumbnail alone", got)
	}
	e.refusedToOthers(id, other, []string{layout.MasterPlaylist, "360p/playlist.m3u8", "360p/c00000_a1_00000.ts"})
	if r := e.do("GET", base+"360p/c00000_a1_00000.ts?token="+viewer, "", nil); r.status != http.StatusNotFound {
		t.Errorf("a viewer token handed out before the hold still opens chunk 0: status %d", r.status)
	}

	// The job's end keeps the hold, whatever the checks of the whole find.
	stub.set(nil, 0, 0)
	if err := e.srv.publisher.jobChanged(t.Context(), id, doneJob(id)); err != nil {
		t.Fatal(err)
	}
	if v := e.video(id); v.Status != store.StatusReady || v.Screening != store.ScreeningHeld || v.Moderation != store.ModerationHeld {
		t.Errorf("after the job ended: %s, screening %s, moderation %s; want ready and still held", v.Status, v.Screening, v.Moderation)
	}
	if r := e.do("GET", base+layout.MasterPlaylist+"?token="+viewer, "", nil); r.status != http.StatusNotFound {
		t.Errorf("a viewer token opens the held video's master playlist: status %d", r.status)
	}
	e.must(http.StatusOK, "GET", e.apiVideo(id, owner.Token).Playback.MasterUrl, "", nil)
}

// TestScreeningPrefixHoldsReuploadAtFirstChunk: the first chunk of a re-upload of a removed
// video matches its frame hashes: the video is held before anyone else could watch a frame.
func TestScreeningPrefixHoldsReuploadAtFirstChunk(t *testing.T) {
	e, stub := newClassifierEnv(t, false)
	owner, other, mod := e.user("owner"), e.user("other"), e.moderator()
	track, err := json.Marshal(phash.Track{IntervalSeconds: 2, Hashes: frameHashes})
	if err != nil {
		t.Fatal(err)
	}
	removed := e.publishVideo(owner, "Removed", map[string]string{"hls/" + layout.PHashFile: string(track)})
	e.decide(mod, removed, map[string]any{"action": "remove"})
	calls := len(stub.requests())

	id := e.jobEndedVideo(owner, "Re-upload", growingLadder)
	e.putBlob(layout.Ladder(id, layout.ScreeningFile), screeningPrefix(t, 1, frameHashes[:3]))
	if err := e.srv.publisher.jobChanged(t.Context(), id, encodingJob(id, 1)); err != nil {
		t.Fatal(err)
	}
	v := e.video(id)
	if v.Screening != store.ScreeningHeld || v.Moderation != store.ModerationHeld || !strings.HasPrefix(v.HeldReason, "matches removed video "+removed) {
		t.Fatalf("re-upload after its first chunk: screening %s, moderation %s (%q); want held as a match of %s",
			v.Screening, v.Moderation, v.HeldReason, removed)
	}
	if n := len(stub.requests()); n != calls {
		t.Errorf("the classifier was asked about a chunk the hashes already held (%d calls)", n-calls)
	}
	e.refusedToOthers(id, other, []string{layout.MasterPlaylist, "360p/playlist.m3u8", "360p/c00000_a1_00000.ts"})

	// A moderator who reviews it and approves it passes it; the checks, running again on the
	// next chunks and at the job's end, do not hold it again.
	e.decide(mod, id, map[string]any{"action": "approve"})
	e.putBlob(layout.Ladder(id, layout.ScreeningFile), screeningPrefix(t, 2, frameHashes[:4]))
	if err := e.srv.publisher.jobChanged(t.Context(), id, encodingJob(id, 2)); err != nil {
		t.Fatal(err)
	}
	e.putBlob(layout.Ladder(id, layout.PHashFile), string(track))
	if err := e.srv.publisher.jobChanged(t.Context(), id, doneJob(id)); err != nil {
		t.Fatal(err)
	}
	if v := e.video(id); v.Status != store.StatusReady || v.Screening != store.ScreeningPassed || v.Moderation != store.ModerationOK {
		t.Errorf("approved re-upload after its job ended: %s, screening %s, moderation %s; want ready, passed, ok",
			v.Status, v.Screening, v.Moderation)
	}
}
