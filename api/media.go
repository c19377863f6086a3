package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// Media of a video is served under /media/{videoId}/… from the objects under
// videos/{videoId}/hls/ (playlists, segments, poster, storyboard).
//
// Public videos that have passed screening have stable URLs that any cache may keep. The others
// need a token: "<expiry>.<HMAC of video id and expiry>", valid for every file of that one video
// until it expires. Playlists are rewritten so that the URIs inside them carry the same token,
// which lets any HLS player (hls.js, Safari, ffprobe, VLC) follow them without knowing about
// tokens.
//
// A token is handed out with the video's media URLs to whoever may watch it (mayWatch): before
// the video has passed screening, that is its owner and moderators only, so the media of a
// video still being transcoded — or held by the checks — reach nobody else, whatever its
// visibility, and a re-upload of removed content is never served to its audience.

const mediaPrefix = "/media/"

// openMedia reports whether serveMedia serves v's files to anyone, without a token: a public
// video that has passed screening (so it has been published) and is neither held nor removed.
func openMedia(v store.Video) bool {
	return v.Visibility == store.Public && !v.Hidden() && v.Screened()
}

// ownerOrModerator reports whether user is v's owner or a moderator: those see every video,
// and its media before it has been screened.
func ownerOrModerator(v store.Video, user store.User, signedIn bool) bool {
	return signedIn && (user.ID == v.OwnerID || user.CanModerate())
}

// mayWatch reports whether the caller of r, who can see v, may be given its media URLs
// (playback, poster, storyboard, captions): anyone once it has passed screening, before that
// its owner and moderators only — they watch it while it transcodes and decide on its hold.
func mayWatch(r *http.Request, v store.Video) bool {
	user, signedIn := caller(r)
	return v.Screened() || ownerOrModerator(v, user, signedIn)
}

// playback returns the URLs a player needs. The caller checks mayWatch; whole says the caller
// is the owner or a moderator, who watch all that is transcoded of a video in flight, not only
// what was screened.
func (s *Server) playback(v store.Video, whole bool) *oapi.Playback {
	query := ""
	var expires *time.Time
	if scope := viewerScope(whole); !openMedia(v) || (whole && v.InFlight()) {
		exp := s.now().Add(s.cfg.MediaTTL).Truncate(time.Second)
		query = "?token=" + s.mediaToken(v.ID, exp, scope)
		expires = &exp
	}
	base := mediaPrefix + v.ID + "/"
	p := &oapi.Playback{MasterUrl: base + layout.MasterPlaylist + query, ExpiresAt: expires}
	if v.Status == store.StatusReady {
		poster, storyboard := base+layout.PosterFile+query, base+layout.StoryboardVTT+query
		p.PosterUrl, p.StoryboardUrl = &poster, &storyboard
	}
	return p
}

// A media token's scope: what of a video still transcoding it opens.
type tokenScope string

const (
	// screenedScope opens what was screened so far (all of a published video).
	screenedScope tokenScope = ""
	// wholeScope, the owner's and moderators', opens everything transcoded so far.
	wholeScope tokenScope = "whole"
)

func viewerScope(whole bool) tokenScope {
	if whole {
		return wholeScope
	}
	return screenedScope
}

// mediaToken is "<expiry>.<signature>" for the screened scope and
// "<expiry>.<scope>.<signature>" for another: the scope is signed with the rest.
func (s *Server) mediaToken(videoID string, exp time.Time, scope tokenScope) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	if scope != screenedScope {
		e += "." + string(scope)
	}
	return e + "." + s.mediaSignature(videoID, e)
}

func (s *Server) mediaSignature(videoID, exp string) string {
	mac := hmac.New(sha256.New, s.cfg.MediaSecret)
	mac.Write([]byte("media\n" + videoID + "\n" + exp))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}

// validMediaToken checks a token for videoID and returns its scope.
func (s *Server) validMediaToken(videoID, token string) (tokenScope, bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", false
	}
	signed, sig := token[:i], token[i+1:]
	exp, scope, _ := strings.Cut(signed, ".")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.now().After(time.Unix(unix, 0)) {
		return "", false
	}
	if scope := tokenScope(scope); scope == screenedScope || scope == wholeScope {
		return scope, hmac.Equal([]byte(sig), []byte(s.mediaSignature(videoID, signed)))
	}
	return "", false
}

// errMediaToken answers for media served only with a token (not public, or not screened yet)
// requested without a valid one.
var errMediaToken = &httpError{status: http.StatusForbidden, code: codeForbidden,
	message: "this media needs a valid, unexpired token; reload the video to get a new one"}

// errNoSuchMediaFile answers for a media file that does not exist or may not be served.
var errNoSuchMediaFile = &httpError{status: http.StatusNotFound, code: codeNotFound, message: "no such media file"}

// mediaFile matches the files players fetch: a rendition directory and a playlist or segment,
// or a top-level playlist, poster or storyboard. Other files the pipeline leaves in the output
// (frame hashes, audio for transcription) are not media and are never served. Caption
// tracks are served under subs/{language}/ (captions.go). AV1 renditions live beside their
// H.264 rung with a suffix (720p-av1/).
var mediaFile = regexp.MustCompile(`^(?:(?:[a-z0-9][a-z0-9-]{0,15}/)?[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}\.(?:m3u8|ts|m4s|mp4|mpd|jpg|vtt)|` +
	`subs/[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,5}/(?:playlist\.m3u8|captions\.vtt))$`)

func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, func() error {
		id, rel := chi.URLParam(r, "videoId"), chi.URLParam(r, "*")
		if !mediaFile.MatchString(rel) || strings.Contains(rel, "..") {
			return errNoSuchMediaFile
		}
		v, err := s.db.Video(r.Context(), id)
		if err != nil {
			return orNotFound(err, errNoSuchMediaFile)
		}
		token := r.URL.Query().Get("token")
		scope, valid := screenedScope, false
		if token != "" {
			scope, valid = s.validMediaToken(v.ID, token)
		}
		if !valid {
			token = "" // not handed on in the URIs of the playlists served
		}
		public, whole := openMedia(v), valid && scope == wholeScope
		if !public {
			switch {
			case !valid:
				return errMediaToken
			case v.Status == store.StatusRemoved:
				return errNoSuchMediaFile
			case !whole && (!v.Screened() || v.Hidden()):
				// A viewer's token handed out before the video was held opens nothing since.
				return errNoSuchMediaFile
			}
		}
		if lang, file, ok := subtitleFile(rel); ok {
			return s.serveSubtitles(w, r, v, lang, file, public, token)
		}
		if v.InFlight() && !whole {
			return s.serveScreened(w, r, v, rel, public, token)
		}
		return s.serveFile(w, r, v, rel, public, token)
	})
}

// serveFile serves one file of the farm's output, its playlists with the token in every URI
// when the video is not public.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, v store.Video, rel string, public bool, token string) error {
	rc, err := s.blobs.Get(r.Context(), layout.Ladder(v.ID, rel))
	if err != nil {
		return orMissing(err)
	}
	defer rc.Close()
	if rel == layout.MasterPlaylist || rel == layout.DASHManifest {
		// Caption tracks are added as the master and the DASH manifest are served: they change
		// after publication.
		if rc, err = s.withSubtitles(r.Context(), v, rel, rc); err != nil {
			return err
		}
	}

	setMediaHeaders(w, v, rel, public)
	// Everything but a playlist of a video still transcoding is immutable once written:
	// segment names carry their chunk and attempt, and a re-encode is a new video.
	if isPlaylist(rel) && token != "" {
		body, err := io.ReadAll(io.LimitReader(rc, maxSmallBlob))
		if err != nil {
			return err
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(withToken(rel, body, token)))
		return nil
	}
	if rs, ok := rc.(io.ReadSeeker); ok {
		// ServeContent gives Range requests, HEAD and If-Modified-Since.
		http.ServeContent(w, r, path.Base(rel), time.Time{}, rs)
		return nil
	}
	_, _ = io.Copy(w, rc)
	return nil
}

// serveScreened serves a video still transcoding to callers other than its owner and
// moderators: what has passed screening (its first chunks, up to ScreenedSeconds) and nothing
// after it. The rendition playlists are cut there, a segment is served only if its cut
// playlist lists it, and the thumbnails the transcode leaves are not served at all. A token
// handed out before a later chunk held the video opens nothing from then on.
func (s *Server) serveScreened(w http.ResponseWriter, r *http.Request, v store.Video, rel string, public bool, token string) error {
	if !v.Screened() || v.Hidden() || v.ScreenedChunks == 0 {
		return errNoSuchMediaFile
	}
	dir, file := path.Split(rel)
	switch ext := path.Ext(file); {
	case rel == layout.MasterPlaylist:
		return s.serveFile(w, r, v, rel, public, token)
	case dir == "" || ext != ".ts" && ext != ".m4s" && ext != ".mp4" && file != layout.MediaPlaylist:
		// Not a rendition's playlist or segment: the DASH manifest is not cut (players of a
		// video still transcoding use HLS), thumbnails are no media.
		return errNoSuchMediaFile
	}
	data, err := readSmall(r.Context(), s.blobs, layout.Ladder(v.ID, dir+layout.MediaPlaylist))
	if err != nil {
		return orMissing(err)
	}
	pl, err := hls.ParseMediaPlaylist(data)
	if err != nil {
		return err
	}
	cut := pl.CutAt(v.ScreenedSeconds)
	if file != layout.MediaPlaylist {
		// The init segment (EXT-X-MAP) carries no picture; segments only once screened.
		listed := file == cut.Map || slices.ContainsFunc(cut.Segments, func(seg hls.Segment) bool { return seg.URI == file })
		if !listed || len(cut.Segments) == 0 {
			return errNoSuchMediaFile
		}
		return s.serveFile(w, r, v, rel, public, token)
	}
	body := cut.Marshal()
	if token != "" {
		body = withToken(rel, body, token)
	}
	setMediaHeaders(w, v, rel, public)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	return nil
}

// setMediaHeaders sets what every media file of v is served with: its type, CORS for players
// on other origins, and how long caches may keep it.
func setMediaHeaders(w http.ResponseWriter, v store.Video, rel string, public bool) {
	h := w.Header()
	h.Set("Content-Type", mediaType(rel))
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", cacheControl(rel, public, v.Status == store.StatusReady))
}

// orMissing answers for a file storage does not have: errNoSuchMediaFile.
func orMissing(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return errNoSuchMediaFile
	}
	return err
}

// maxSmallBlob bounds the text files the API reads whole: playlists, frame hashes, captions.
const maxSmallBlob = 16 << 20

// readSmall reads a small blob whole; a missing one is storage.ErrNotFound, naming the key.
func readSmall(ctx context.Context, blobs storage.Store, key string) ([]byte, error) {
	rc, err := blobs.Get(ctx, key)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("%s is missing: %w", key, err)
		}
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, maxSmallBlob))
}

func isPlaylist(rel string) bool {
	ext := path.Ext(rel)
	return ext == ".m3u8" || ext == ".vtt" || ext == ".mpd"
}

// withToken signs the relative URIs of a playlist, storyboard or DASH manifest with the
// video's media token.
func withToken(rel string, body []byte, token string) []byte {
	if path.Ext(rel) == ".mpd" {
		return hls.RewriteDASHURIs(body, "token="+token)
	}
	return hls.RewriteURIs(body, "token="+token)
}

func mediaType(rel string) string {
	switch path.Ext(rel) {
	case ".m3u8":
		return "application/vnd.apple.mpegurl"
	case ".ts":
		return "video/mp2t"
	case ".m4s", ".mp4":
		return "video/mp4"
	case ".mpd":
		return "application/dash+xml"
	case ".vtt":
		return "text/vtt; charset=utf-8"
	case ".jpg":
		return "image/jpeg"
	default:
		return "application/octet-stream"
	}
}

// cacheControl: public files (of a screened, so published, video) are cached for a long time
// (playlists for a minute, in case the video is deleted or made private); tokened media is
// private to the browser; a playlist of a video still transcoding, which grows as chunks finish
// and is played only by its owner and moderators, must be re-fetched every time.
func cacheControl(rel string, public, ready bool) string {
	switch {
	case isPlaylist(rel) && !ready:
		return "private, no-cache"
	case !public:
		return "private, max-age=300"
	case isPlaylist(rel):
		return "public, max-age=60"
	default:
		return "public, max-age=31536000, immutable"
	}
}
