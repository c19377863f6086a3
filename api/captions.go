package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sunomi/sunomi/api/oapi"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/storage/layout"
)

// Captions are WebVTT files, one per video and language, uploaded by the owner or transcribed
// from the video's audio. Each is stored at videos/{id}/captions/{language}.vtt with its plain
// text in PostgreSQL (for search), and published to players twice over: as a file the web app
// can load into a <track>, and as an HLS SUBTITLES rendition added to the master playlist (and
// a text adaptation set added to the DASH manifest of an fMP4 ladder) when it is served, so
// native players (Safari, smart TVs), hls.js and DASH players offer it too. The renditions
// are generated per request from the caption rows rather than written into the stored master:
// captions change after the farm has published, and the farm owns the HLS output.

// subtitleGroup is the GROUP-ID of the caption renditions.
const subtitleGroup = "subs"

// transcribePerUser bounds the transcriptions one user starts per throttling window: each one
// costs minutes of a GPU, or money at a hosted service.
const transcribePerUser = 10

var (
	errNoAudio           = errConflict("this video has no audio to transcribe")
	errNoSpeech          = errConflict("no speech was found in this video's audio")
	errNotReadyToCaption = errConflict("this video is still being transcoded; transcribe it once it is ready")
	errNoTranscriber     = errUnavailable("automatic captions are not available: no transcription service is configured")
	errNoSuchCaption     = &httpError{status: http.StatusNotFound, code: codeNotFound, message: "this video has no captions in that language"}
)

func captionKey(videoID, language string) string {
	return layout.Caption(videoID, language)
}

// languageTag is the BCP 47 shape the API accepts (the contract's Language parameter):
// a language, then subtags such as a script, a region or a variant.
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$`)

// canonicalLanguage checks a BCP 47 tag and writes it in its canonical case (en, pt-BR,
// zh-Hant-TW), so that "EN" and "en" are one track.
func canonicalLanguage(tag string) (string, bool) {
	if len(tag) > 35 || !languageTag.MatchString(tag) {
		return "", false
	}
	parts := strings.Split(strings.ToLower(tag), "-")
	for i := 1; i < len(parts); i++ {
		p := parts[i]
		switch {
		case len(p) == 2 && isLetters(p): // region
			parts[i] = strings.ToUpper(p)
		case len(p) == 4 && isLetters(p): // script
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-"), true
}

func isLetters(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

func checkLanguage(tag string) (string, error) {
	lang, ok := canonicalLanguage(tag)
	if !ok {
		return "", errField("language", "must be a BCP 47 language tag such as en or pt-BR")
	}
	return lang, nil
}

// languageNames name the common languages in themselves, as players list them.
var languageNames = map[string]string{
	"ar": "العربية", "bg": "Български", "ca": "Català", "cs": "Čeština", "da": "Dansk",
	"de": "Deutsch", "el": "Ελληνικά", "en": "English", "en-GB": "English (UK)",
	"en-US": "English (US)", "es": "Español", "es-419": "Español (Latinoamérica)",
	"fa": "فارسی", "fi": "Suomi", "fr": "Français", "fr-CA": "Français (Canada)",
	"he": "עברית", "hi": "हिन्दी", "hr": "Hrvatski", "hu": "Magyar", "id": "Bahasa Indonesia",
	"it": "Italiano", "ja": "日本語", "ko": "한국어", "ms": "Bahasa Melayu", "nb": "Norsk bokmål",
	"nl": "Nederlands", "no": "Norsk", "pl": "Polski", "pt": "Português",
	"pt-BR": "Português (Brasil)", "pt-PT": "Português (Portugal)", "ro": "Română",
	"ru": "Русский", "sk": "Slovenčina", "sr": "Српски", "sv": "Svenska", "th": "ไทย",
	"tr": "Türkçe", "uk": "Українська", "vi": "Tiếng Việt", "zh": "中文",
	"zh-Hans": "中文（简体）", "zh-Hant": "中文（繁體）",
}

// captionLabel is the name players show for a track: the language's own name, marked when
// a machine wrote the captions.
func captionLabel(lang, source string) string {
	if lang == "und" {
		if source == store.CaptionTranscription {
			return "Automatic"
		}
		return "Captions"
	}
	name, ok := languageNames[lang]
	if !ok {
		name = lang
		if primary, rest, found := strings.Cut(lang, "-"); found && languageNames[primary] != "" {
			name = languageNames[primary] + " (" + rest + ")"
		}
	}
	if source == store.CaptionTranscription {
		name += " (automatic)"
	}
	return name
}

// mediaQuery is the query that media URLs of v need: a token unless serveMedia serves the
// video's files to anyone.
func (s *Server) mediaQuery(r *http.Request, v store.Video) string {
	if openMedia(v) {
		return ""
	}
	user, signedIn := caller(r)
	scope := viewerScope(ownerOrModerator(v, user, signedIn))
	return "?token=" + s.mediaToken(v.ID, s.now().Add(s.cfg.MediaTTL).Truncate(time.Second), scope)
}

func toAPICaption(v store.Video, c store.Caption, query string) oapi.Caption {
	return oapi.Caption{
		Language: c.Language,
		Label:    c.Label,
		Source:   oapi.CaptionSource(c.Source),
		Url:      mediaPrefix + v.ID + "/subs/" + c.Language + "/captions.vtt" + query,
	}
}

// toAPICaptions lists v's caption tracks for the caller of r: none to a caller who may not
// watch the video yet (mayWatch), as their URLs carry the video's media token.
func (s *Server) toAPICaptions(r *http.Request, v store.Video, tracks []store.Caption) []oapi.Caption {
	if !mayWatch(r, v) {
		tracks = nil
	}
	out := make([]oapi.Caption, 0, len(tracks))
	query := ""
	if len(tracks) > 0 {
		query = s.mediaQuery(r, v)
	}
	for _, c := range tracks {
		out = append(out, toAPICaption(v, c, query))
	}
	return out
}

// ListCaptions lists a video's caption tracks, to anyone who can see the video.
func (s *Server) ListCaptions(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		v, err := s.visibleVideo(r, id)
		if err != nil {
			return err
		}
		tracks, err := s.db.Captions(r.Context(), v.ID)
		if err != nil {
			return err
		}
		writePrivateJSON(w, oapi.CaptionList{Captions: s.toAPICaptions(r, v, tracks), AutoCaptions: s.transcriber != nil})
		return nil
	})
}

// captionableVideo loads a video whose captions the caller may change: the owner's, unless a
// moderator removed it.
func (s *Server) captionableVideo(r *http.Request, id string) (store.Video, store.User, error) {
	v, user, err := s.ownedVideo(r, id, false)
	if err == nil && v.Status == store.StatusRemoved {
		err = errForbidden("this video was removed by a moderator; its captions can no longer change")
	}
	return v, user, err
}

// PutCaption stores the owner's WebVTT file as the captions of one language, replacing any.
func (s *Server) PutCaption(w http.ResponseWriter, r *http.Request, id oapi.VideoID, language oapi.Language) {
	s.handle(w, r, func() error {
		lang, err := checkLanguage(language)
		if err != nil {
			return err
		}
		v, _, err := s.captionableVideo(r, id)
		if err != nil {
			return err
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.HasPrefix(mt, "multipart/") || mt == "application/x-www-form-urlencoded" {
			return &httpError{status: http.StatusUnsupportedMediaType, code: codeInvalid,
				message: "send the WebVTT file itself as the request body (Content-Type: text/vtt), not a form"}
		}
		body, err := readBody(w, r, maxCaptionBytes, "caption file")
		if err != nil {
			return err
		}
		vtt, err := hls.ParseWebVTT(body)
		if err != nil {
			return errInvalid("the caption file is not valid WebVTT: "+err.Error(), map[string]string{"body": err.Error()})
		}
		c, _, err := s.storeCaption(r.Context(), v.ID, lang, store.CaptionUpload, vtt, true)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toAPICaption(v, c, s.mediaQuery(r, v)))
		return nil
	})
}

// storeCaption writes a checked file and its row. Without replace, a language that has a
// track keeps it and stored is false.
func (s *Server) storeCaption(ctx context.Context, videoID, lang, source string, vtt *hls.WebVTT, replace bool) (c store.Caption, stored bool, err error) {
	key := captionKey(videoID, lang)
	if !replace {
		// Checked before the file is written, which would replace the existing track's.
		if _, err := s.db.Caption(ctx, videoID, lang); err == nil {
			return c, false, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return c, false, err
		}
	}
	// The file first: a row must never point at a missing file.
	if err := s.blobs.Put(ctx, key, bytes.NewReader(vtt.Body), int64(len(vtt.Body))); err != nil {
		return c, false, fmt.Errorf("store %s: %w", key, err)
	}
	c = store.Caption{VideoID: videoID, Language: lang, Label: captionLabel(lang, source), Source: source,
		ObjectKey: key, Text: vtt.Text}
	if replace {
		c, err = s.db.PutCaption(ctx, c)
		stored = err == nil
	} else {
		stored, err = s.db.AddCaption(ctx, c)
	}
	if errors.Is(err, store.ErrNotFound) {
		// The video was deleted meanwhile, perhaps after its objects were: take the file along.
		if err := s.blobs.Delete(context.WithoutCancel(ctx), key); err != nil {
			s.log.Warn("delete the captions of a deleted video", "video_id", videoID, "key", key, "error", err)
		}
		return c, false, errNotFound
	}
	return c, stored, err
}

// DeleteCaption deletes the captions of one language.
func (s *Server) DeleteCaption(w http.ResponseWriter, r *http.Request, id oapi.VideoID, language oapi.Language) {
	s.handle(w, r, func() error {
		lang, err := checkLanguage(language)
		if err != nil {
			return err
		}
		v, _, err := s.ownedVideo(r, id, false)
		if err != nil {
			return err
		}
		ctx := r.Context()
		c, err := s.db.Caption(ctx, v.ID, lang)
		if err != nil {
			return orNotFound(err, errNoSuchCaption)
		}
		// The file goes first, as in DeleteVideo: a storage failure leaves a track the owner can
		// delete again rather than a file nobody can find.
		if err := s.blobs.Delete(ctx, c.ObjectKey); err != nil {
			return err
		}
		if err := s.db.DeleteCaption(ctx, v.ID, lang); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// TranscribeVideo transcribes the video's audio and stores the result as the captions of the
// spoken language, replacing any, while the caller waits.
func (s *Server) TranscribeVideo(w http.ResponseWriter, r *http.Request, id oapi.VideoID) {
	s.handle(w, r, func() error {
		var req oapi.TranscribeRequest
		if r.ContentLength != 0 {
			if err := decode(w, r, &req); err != nil {
				return err
			}
		}
		lang := ""
		if req.Language != nil && *req.Language != "" {
			l, ok := canonicalLanguage(*req.Language)
			if !ok {
				return errField("language", "must be a BCP 47 language tag such as en or pt-BR")
			}
			lang = l
		}
		v, user, err := s.captionableVideo(r, id)
		if err != nil {
			return err
		}
		if s.transcriber == nil {
			return errNoTranscriber
		}
		if v.Status != store.StatusReady {
			return errNotReadyToCaption
		}
		if err := s.throttle(r.Context(), "transcribe:"+strconv.FormatInt(user.ID, 10), transcribePerUser); err != nil {
			return err
		}
		c, _, err := s.transcribeVideo(r.Context(), v.ID, lang, true)
		if errors.Is(err, errTranscription) {
			s.log.Warn("transcribe video", "video_id", v.ID, "error", err)
			return errUnavailable("the transcription service failed; try again later")
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toAPICaption(v, c, s.mediaQuery(r, v)))
		return nil
	})
}

// transcribeVideo sends the video's audio to the transcription service and stores the
// captions it returns under lang, or else the language the service names, or else "und".
// Failures of the service wrap errTranscription.
func (s *Server) transcribeVideo(ctx context.Context, videoID, lang string, replace bool) (_ store.Caption, _ bool, err error) {
	done := s.metrics.transcribing()
	defer func() { done(err) }()
	service := ""
	if lang != "" {
		// The OpenAI API takes ISO 639-1 codes: the primary subtag.
		service, _, _ = strings.Cut(lang, "-")
	}
	t, err := s.transcriber.transcribeVideo(ctx, videoID, service)
	if err != nil {
		return store.Caption{}, false, err
	}
	vtt, err := hls.ParseWebVTT(t.vtt)
	if errors.Is(err, hls.ErrNoCues) {
		return store.Caption{}, false, errNoSpeech
	}
	if err != nil {
		return store.Caption{}, false, fmt.Errorf("%w: its answer is not valid WebVTT: %v", errTranscription, err)
	}
	if lang == "" {
		for _, l := range []string{t.language, vtt.Language, "und"} {
			if c, ok := canonicalLanguage(l); ok {
				lang = c
				break
			}
		}
	}
	return s.storeCaption(ctx, videoID, lang, store.CaptionTranscription, vtt, replace)
}

// afterPublish starts the work a newly published video gets: its automatic captions when
// the service is configured to make them. It never blocks the caller (the sync loop).
func (s *Server) afterPublish(videoID string) {
	if !s.cfg.Transcription.Auto || s.transcriber == nil {
		return
	}
	s.transcriber.inBackground(func(ctx context.Context) {
		c, stored, err := s.transcribeVideo(ctx, videoID, "", false)
		switch {
		case err == nil && stored:
			s.log.Info("video transcribed", "video_id", videoID, "language", c.Language)
		case err == nil:
			s.log.Debug("automatic captions skipped: the video has captions in that language", "video_id", videoID)
		case errors.Is(err, errNoAudio), errors.Is(err, errNoSpeech), errors.Is(err, errNotFound):
			s.log.Debug("automatic captions skipped", "video_id", videoID, "reason", err)
		case ctx.Err() == nil:
			s.log.Warn("transcribe published video", "video_id", videoID, "error", err)
		}
	})
}

// withSubtitles adds the video's caption tracks to its master playlist (rel is
// layout.MasterPlaylist) as SUBTITLES renditions, one per language, each variant naming the
// group, or to its DASH manifest as text adaptation sets of the WebVTT files. Only a ready
// video gets them: the subtitle playlists need its duration.
func (s *Server) withSubtitles(ctx context.Context, v store.Video, rel string, master io.Reader) (io.ReadCloser, error) {
	body, err := io.ReadAll(io.LimitReader(master, 16<<20))
	if err != nil {
		return nil, err
	}
	dash := rel == layout.DASHManifest
	has := []byte("TYPE=SUBTITLES")
	if dash {
		has = []byte(`contentType="text"`)
	}
	if v.Status != store.StatusReady || v.DurationSeconds == nil || bytes.Contains(body, has) {
		return readSeekNopCloser{bytes.NewReader(body)}, nil
	}
	tracks, err := s.db.Captions(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	if dash {
		if body, err = hls.AddDASHTextSets(body, dashTextTracks(tracks)); err != nil {
			return nil, err
		}
		return readSeekNopCloser{bytes.NewReader(body)}, nil
	}
	return readSeekNopCloser{bytes.NewReader(hls.AddSubtitleRenditions(body, subtitleGroup, subtitleTracks(tracks)))}, nil
}

type readSeekNopCloser struct{ *bytes.Reader }

func (readSeekNopCloser) Close() error { return nil }

// subtitleTracks are the caption tracks as the master playlist offers them.
func subtitleTracks(captions []store.Caption) []hls.SubtitleTrack {
	tracks := make([]hls.SubtitleTrack, len(captions))
	for i, c := range captions {
		tracks[i] = hls.SubtitleTrack{Language: c.Language, Name: c.Label, URI: "subs/" + c.Language + "/playlist.m3u8"}
	}
	return tracks
}

// dashTextTracks are the caption tracks as the DASH manifest offers them: the WebVTT files
// themselves, whose cue times count from the start of the video as the manifest's period does.
func dashTextTracks(captions []store.Caption) []hls.SubtitleTrack {
	tracks := subtitleTracks(captions)
	for i := range tracks {
		tracks[i].URI = "subs/" + tracks[i].Language + "/captions.vtt"
	}
	return tracks
}

// subtitleFile matches the subtitle paths under /media/{id}/: subs/{language}/playlist.m3u8
// and subs/{language}/captions.vtt.
func subtitleFile(rel string) (lang, file string, ok bool) {
	rest, ok := strings.CutPrefix(rel, "subs/")
	if !ok {
		return "", "", false
	}
	lang, file, ok = strings.Cut(rest, "/")
	if !ok || (file != "playlist.m3u8" && file != "captions.vtt") {
		return "", "", false
	}
	lang, ok = canonicalLanguage(lang)
	return lang, file, ok
}

// serveSubtitles serves one caption track to players: a media playlist whose single segment
// is the whole WebVTT file, lasting as long as the video, and the file itself with the
// timestamp mapping HLS players need. serveMedia has checked access.
func (s *Server) serveSubtitles(w http.ResponseWriter, r *http.Request, v store.Video, lang, file string, public bool, token string) error {
	ctx := r.Context()
	key := captionKey(v.ID, lang)
	var body []byte
	switch file {
	case "playlist.m3u8":
		if v.DurationSeconds == nil {
			return errNoSuchMediaFile
		}
		if _, err := s.blobs.Stat(ctx, key); err != nil {
			return orMissing(err)
		}
		body = hls.SubtitlePlaylist("captions.vtt", *v.DurationSeconds)
		if !public {
			body = hls.RewriteURIs(body, "token="+token)
		}
	default:
		vtt, err := readSmall(ctx, s.blobs, key)
		if err != nil {
			return orMissing(err)
		}
		// Not rewritten: cue text is not URIs, and the file links to nothing.
		body = hls.WithTimestampMap(vtt, captionTimelineStart)
	}
	setMediaHeaders(w, v, file, public)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	return nil
}
