// Package layout says where the platform keeps every object in the blob
// store, one spelling for the api, the coordinator's clean-up and the
// pipeline:
//
//	videos/{id}/upload/original          a single-PUT upload, until completed
//	videos/{id}/source/original          the upload, once completed
//	videos/{id}/hls/master.m3u8          the ladder (HLS prefix), with
//	videos/{id}/hls/{rung}/playlist.m3u8 its renditions and their segments,
//	videos/{id}/hls/audio/playlist.m3u8  the audio rendition,
//	videos/{id}/hls/poster.jpg, storyboard.jpg/.vtt, phash.json, audio16k.wav
//	jobs/{jobId}/chunks/…                a job's temporary files
//
// It is a leaf package (no I/O, no storage client) so that the pure packages
// naming ladder files — media, and the scheduler through it — stay free of
// the storage backends and net/http.
package layout

import (
	"path"
	"strings"
)

// The files of a video's ladder, relative to its HLS prefix (HLS):
// what the stitch writes, the coordinator publishes and keeps, and the api
// serves.
const (
	MasterPlaylist = "master.m3u8"
	// DASHManifest describes an fMP4 ladder's segments for DASH players.
	DASHManifest = "manifest.mpd"
	// MediaPlaylist is every rendition's playlist inside its directory.
	MediaPlaylist = "playlist.m3u8"
	// AudioDir is the audio rendition's directory; video renditions are
	// named after their rung ("720p").
	AudioDir        = "audio"
	PosterFile      = "poster.jpg"
	StoryboardImage = "storyboard.jpg"
	StoryboardVTT   = "storyboard.vtt"
	// PHashFile is the video's perceptual fingerprint, a phash.Track.
	PHashFile = "phash.json"
	// SpeechFile is the audio as mono 16 kHz PCM WAV, for speech-to-text.
	SpeechFile = "audio16k.wav"
	// ScreeningFile is what the leader publishes while a job encodes for the
	// API to screen the chunks finished so far (a media.ScreeningPrefix);
	// the job's clean-up removes it.
	ScreeningFile = "screening.json"
)

// Video is the prefix of everything a video owns, with a trailing slash.
func Video(videoID string) string { return "videos/" + videoID + "/" }

// Source is the key of a video's uploaded original.
func Source(videoID string) string { return Video(videoID) + "source/original" }

// Upload is where a single-PUT upload lands: its presigned URL writes here, and completing the
// upload moves the object to Source, which no URL can write. Whatever a URL writes here after
// completion is never read.
func Upload(videoID string) string { return Video(videoID) + "upload/original" }

// HLSDir is the directory of a video's ladder inside the video's prefix.
const HLSDir = "hls"

// HLS is the prefix a video's ladder is published under (no trailing
// slash: the farm's jobs name it as their output).
func HLS(videoID string) string { return Video(videoID) + HLSDir }

// VideoOfHLS is the inverse of HLS: the video whose ladder prefix a job
// writes, or false for a prefix that is not one (a job submitted by hand).
func VideoOfHLS(prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(prefix, "/"), "videos/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/"+HLSDir)
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

// Caption is the key of a video's caption track in one language (WebVTT).
func Caption(videoID, language string) string {
	return Video(videoID) + "captions/" + language + ".vtt"
}

// Ladder is the key of a file of a video's ladder, rel relative to HLS
// (MasterPlaylist, PosterFile, RungPlaylist("720p")…).
func Ladder(videoID, rel string) string { return HLS(videoID) + "/" + rel }

// RungPlaylist is a rendition's playlist relative to the HLS prefix; dir is
// the rung's name or AudioDir.
func RungPlaylist(dir string) string { return path.Join(dir, MediaPlaylist) }

// Job is the prefix of a job's temporary files, with a trailing slash: the
// coordinator deletes it when the job ends.
func Job(jobID string) string { return "jobs/" + jobID + "/" }

// Chunks is the prefix of a job's extracted chunk sources (the split's
// outputs), with a trailing slash.
func Chunks(jobID string) string { return Job(jobID) + "chunks/" }
