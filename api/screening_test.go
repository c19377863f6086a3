package api

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage/layout"
)

// fakeLadderMedia are files of fakeLadder as players fetch them under /media/{id}/.
var fakeLadderMedia = []string{layout.MasterPlaylist, "360p/playlist.m3u8", "360p/c0_a1_0.ts", "audio/a_0.ts",
	layout.PosterFile, layout.StoryboardVTT, "subs/en/playlist.m3u8", "subs/en/captions.vtt"}

// refusedToOthers checks that callers other than the owner and moderators — anonymous, and the
// signed-in user other — get no playback and no caption URLs of the video, and none of its
// media files (paths under /media/{id}/), with or without a token of their own.
func (e *env) refusedToOthers(id string, other oapi.Session, paths []string) {
	e.t.Helper()
	for name, token := range map[string]string{"anonymous": "", "another user": other.Token} {
		if r := e.do("GET", "/api/v1/videos/"+id, token, nil); r.status == http.StatusOK {
			var v oapi.Video
			r.decode(e.t, &v)
			if (screeningOf(v) != oapi.ScreeningPending || v.Playback != nil || (v.Captions != nil && len(*v.Captions) > 0)) && !e.passedMeanwhile(id) {
				e.t.Errorf("%s: video %s screening %s, playback %+v, captions %v; want no media URLs before it passed screening",
					name, id, screeningOf(v), v.Playback, v.Captions)
			}
		} else if r.status != http.StatusNotFound {
			e.t.Errorf("%s: GET video %s: status %d", name, id, r.status)
		}
		if r := e.do("GET", "/api/v1/videos/"+id+"/captions", token, nil); r.status == http.StatusOK {
			var list oapi.CaptionList
			r.decode(e.t, &list)
			if len(list.Captions) > 0 && !e.passedMeanwhile(id) {
				e.t.Errorf("%s: captions %+v of a video not screened yet", name, list.Captions)
			}
		}
		for _, rel := range paths {
			r := e.do("GET", mediaPrefix+id+"/"+rel, token, nil)
			if r.status != http.StatusForbidden && r.status != http.StatusNotFound && !e.passedMeanwhile(id) {
				e.t.Errorf("%s: GET %s of %s (screening %s): status %d, want it refused", name, rel, id, e.video(id).Screening, r.status)
			}
		}
	}
}

// passedMeanwhile reports whether the video has passed screening by now. Screening passes
// once and never goes back, so a file served to others is a leak unless the video has passed
// by the time the answer came: a poll racing the video's publication gets its files legitimately.
func (e *env) passedMeanwhile(id string) bool {
	e.t.Helper()
	return e.video(id).Screened()
}

// watchAs plays the video as the caller with token, as a player does: the playback's master
// playlist, its first rendition's playlist and that rendition's first segment, each by the URI
// the previous one gives. It returns their paths under /media/{id}/, without the token.
func (e *env) watchAs(id, token string) []string {
	e.t.Helper()
	var v oapi.Video
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, token, nil).decode(e.t, &v)
	if v.Playback == nil {
		e.t.Fatalf("video %s (%s, screening %s) has no playback for this caller", id, v.Status, screeningOf(v))
	}
	base := mediaPrefix + id + "/"
	paths := []string{}
	uri := strings.TrimPrefix(v.Playback.MasterUrl, base)
	for range 3 {
		body := e.must(http.StatusOK, "GET", base+uri, "", nil).body
		rel, _, _ := strings.Cut(uri, "?")
		paths = append(paths, rel)
		if !strings.HasSuffix(rel, ".m3u8") {
			break
		}
		next := firstURI(string(body))
		if next == "" {
			e.t.Fatalf("%s of %s lists nothing:\n%s", rel, id, body)
		}
		if dir := rel[:strings.LastIndex(rel, "/")+1]; !strings.Contains(next, "/") {
			next = dir + next
		}
		uri = next
	}
	return paths
}

// screeningOf is the video's screening as the API gave it, "" when it gave none.
func screeningOf(v oapi.Video) oapi.Screening {
	if v.Screening == nil {
		return ""
	}
	return *v.Screening
}

// firstURI is the first URI a playlist lists (a variant or a segment).
func firstURI(playlist string) string {
	for line := range strings.Lines(playlist) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return ""
}

// TestScreeningGatesMedia: a clean public video being transcoded is playable by its owner and
// moderators (progressive publishing) and refused to everyone else — no playback, no caption
// URLs, 403/404 on every media file — until its job ends and the checks pass it; then
// anyone plays it without a token.
func TestScreeningGatesMedia(t *testing.T) {
	e, stub := newClassifierEnv(t, false)
	owner, other, mod := e.user("owner"), e.user("other"), e.moderator()
	id := e.jobEndedVideo(owner, "Clean, still transcoding", nil)
	if r := e.putVTT(owner.Token, id, "en", "WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n"); r.status != http.StatusOK {
		t.Fatalf("captions of a video in flight: status %d: %s", r.status, r.body)
	}
	playable := time.Now()
	if err := e.srv.publisher.jobChanged(t.Context(), id, wire.Job{ID: "job-" + id, State: scheduler.JobEncoding, PlayableAt: &playable}); err != nil {
		t.Fatal(err)
	}
	if v := e.video(id); v.Status != store.StatusProcessing || v.Screening != store.ScreeningPending || !v.Playable() {
		t.Fatalf("video %s, screening %s, playable %v; want processing, pending and playable", v.Status, v.Screening, v.Playable())
	}

	e.refusedToOthers(id, other, fakeLadderMedia)
	for name, token := range map[string]string{"owner": owner.Token, "moderator": mod.Token} {
		if got := e.watchAs(id, token); len(got) != 3 {
			t.Errorf("%s played %v while the video is pending, want a master, a rendition and a segment", name, got)
		}
	}
	// The owner's player re-reads the growing playlists of a video still transcoding.
	master := e.must(http.StatusOK, "GET", e.apiVideo(id, owner.Token).Playback.MasterUrl, "", nil)
	if got := master.header.Get("Cache-Control"); got != "private, no-cache" {
		t.Errorf("master playlist of a video in flight: Cache-Control %q, want private, no-cache", got)
	}

	if err := e.srv.publisher.jobChanged(t.Context(), id, doneJob(id)); err != nil {
		t.Fatal(err)
	}
	if v := e.video(id); v.Status != store.StatusReady || v.Screening != store.ScreeningPassed || len(stub.requests()) != 1 {
		t.Fatalf("after the job ended: video %s, screening %s, %d classifier calls; want ready and passed after one",
			v.Status, v.Screening, len(stub.requests()))
	}
	var v oapi.Video
	e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, "", nil).decode(t, &v)
	if screeningOf(v) != oapi.ScreeningPassed || v.Playback == nil || v.Playback.ExpiresAt != nil || v.Captions == nil || len(*v.Captions) != 1 {
		t.Fatalf("screened video for anonymous callers: %+v; want passed, with public playback and its caption track", v)
	}
	for _, rel := range append(e.watchAs(id, ""), layout.PosterFile, "subs/en/captions.vtt") {
		e.must(http.StatusOK, "GET", mediaPrefix+id+"/"+rel, "", nil)
	}
}

// TestScreeningHoldsReupload: a re-upload of a removed video is transcoded by the real farm
// and never served to anyone but its owner and moderators: while the job runs (polled from
// the moment the owner can play it, the agent held still for a look at a moment certainly
// in flight: its first chunk shares frames with the removed video, too few to hold it yet,
// so it is not opened to others) and after it ends, when the checks hold it. The clean
// original, transcoded the same way first, is refused to others until its first chunk is
// screened, and from then on watchable by them while it still transcodes.
func TestScreeningHoldsReupload(t *testing.T) {
	if testing.Short() {
		t.Skip("transcodes two clips on a real farm")
	}
	original, copied := reuploadClips(t)
	e := newEnv(t, withFarm(1))
	owner, other, mod := e.user("owner"), e.user("other"), e.moderator()

	orig := e.transcodeScreened(owner, other, "original", original, true)
	if orig.Screening != store.ScreeningPassed || orig.Moderation != store.ModerationOK {
		t.Fatalf("original: screening %s, moderation %s (%q); want passed", orig.Screening, orig.Moderation, orig.HeldReason)
	}
	e.watchAs(orig.ID, "") // screened: anyone plays it
	e.decide(mod, orig.ID, map[string]any{"action": "remove"})

	v := e.transcodeScreened(owner, other, "re-encoded copy", copied, false)
	if v.Screening != store.ScreeningHeld || v.Moderation != store.ModerationHeld || !strings.HasPrefix(v.HeldReason, "matches removed video "+orig.ID+" (") {
		t.Errorf("re-encoded copy: screening %s, moderation %s (%q); want held as a match of %s", v.Screening, v.Moderation, v.HeldReason, orig.ID)
	}
	e.refusedToOthers(v.ID, other, []string{layout.MasterPlaylist, layout.PosterFile, layout.StoryboardVTT})
	e.watchAs(v.ID, mod.Token) // what the moderator reviews
}

// transcodeScreened uploads file as owner's public video and polls it until its job has ended
// and it is published: at every poll, others are refused its playback and media (the master
// playlist, the poster, and each file the owner's player fetched) unless it has passed
// screening. Once the owner can play it while it is processing, the farm's agent is held still
// while the owner plays it, so that the checks cover a moment certainly within the transcode.
// With passes, the agent stays still until the video's first chunk has passed screening, and
// others then play it while it transcodes; without, for ten reconciliations of the API, and
// the video must not pass meanwhile.
func (e *env) transcodeScreened(owner, other oapi.Session, title, file string, passes bool) store.Video {
	e.t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		e.t.Fatal(err)
	}
	id := e.upload(owner.Token, title, body).VideoId
	e.complete(owner.Token, id)
	seen := []string{layout.MasterPlaylist, layout.PosterFile}
	progressive := false
	var v store.Video
	eventually(e.t, jobTimeout, title+" to be published", func() bool {
		if v = e.video(id); !v.InFlight() {
			return true
		}
		if !progressive && v.Playable() {
			agent := e.farm.Agents[0]
			agent.Freeze()
			if v = e.video(id); v.InFlight() {
				progressive = true
				seen = append(seen, e.watchAs(id, owner.Token)...)
				e.whileFrozen(id, other, seen, passes)
			}
			agent.Thaw()
		}
		e.refusedToOthers(id, other, seen)
		return false
	})
	if !progressive {
		e.t.Errorf("%s: the owner never played it while it was transcoding", title)
	}
	if v.Status != store.StatusReady {
		e.t.Fatalf("%s: status %s (%s), want ready", title, v.Status, v.FailureReason)
	}
	if v.Screening != store.ScreeningPassed {
		e.refusedToOthers(id, other, seen)
	}
	return v
}

// whileFrozen looks at a video in flight whose transcode stands still: with passes, its first
// chunk passes screening and others play it (as far as it was screened); without, it stays
// refused to others over ten reconciliations.
func (e *env) whileFrozen(id string, other oapi.Session, seen []string, passes bool) {
	e.t.Helper()
	if passes {
		eventually(e.t, 10*time.Second, "the first chunk to pass screening", func() bool {
			return e.video(id).Screened()
		})
		e.watchAs(id, "")
		return
	}
	for range 10 {
		time.Sleep(e.srv.cfg.SyncInterval)
		if v := e.video(id); v.Screened() {
			e.t.Fatalf("video %s passed screening while transcoding (%d chunks screened)", id, v.ScreenedChunks)
		}
		e.refusedToOthers(id, other, seen)
	}
}

// TestScreeningHeldUntilReviewed: a video the classifier holds ends its job with screening
// held, its media refused to others; a moderator who approves it has screened it, and anyone
// plays it from then on.
func TestScreeningHeldUntilReviewed(t *testing.T) {
	e, stub := newClassifierEnv(t, false)
	owner, other, mod := e.user("owner"), e.user("other"), e.moderator()
	stub.set([]moderationLabel{{Name: "Explicit Nudity", Confidence: 97.4}}, 0, 0)
	id := e.publishVideo(owner, "Held by the classifier", storyboardSprite)
	if v := e.video(id); v.Screening != store.ScreeningHeld || v.Moderation != store.ModerationHeld {
		t.Fatalf("screening %s, moderation %s; want both held", v.Screening, v.Moderation)
	}
	e.refusedToOthers(id, other, fakeLadderMedia)
	if got := screeningOf(e.decide(mod, id, map[string]any{"action": "approve"})); got != oapi.ScreeningPassed {
		t.Fatalf("screening %s after a moderator approved the video, want passed", got)
	}
	for _, rel := range append(e.watchAs(id, ""), layout.PosterFile) {
		e.must(http.StatusOK, "GET", mediaPrefix+id+"/"+rel, "", nil)
	}
}
