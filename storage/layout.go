package storage

import "path"

// The files of a video's ladder, relative to its HLS prefix (Layout.HLS):
// what the stitch writes, the coordinator publishes and keeps, and the api
// serves.
const (
	MasterPlaylist = "master.m3u8"
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
)

// Layout says where the platform keeps every object in the store:
//
//	videos/{id}/source/original          the upload
//	videos/{id}/hls/master.m3u8          the ladder (HLS prefix), with
//	videos/{id}/hls/{rung}/playlist.m3u8 its renditions and their segments,
//	videos/{id}/hls/audio/playlist.m3u8  the audio rendition,
//	videos/{id}/hls/poster.jpg, storyboard.jpg/.vtt, phash.json, audio16k.wav
//	jobs/{jobId}/chunks/…                a job's temporary files
//
// Its zero value is the platform's layout.
type Layout struct{}

// Video is the prefix of everything a video owns, with a trailing slash.
func (Layout) Video(videoID string) string { return "videos/" + videoID + "/" }

// Source is the key of a video's uploaded original.
func (l Layout) Source(videoID string) string { return l.Video(videoID) + "source/original" }

// HLS is the prefix a video's ladder is published under (no trailing
// slash: the farm's jobs name it as their output).
func (l Layout) HLS(videoID string) string { return l.Video(videoID) + "hls" }

// Ladder is the key of a file of a video's ladder, rel relative to HLS
// (MasterPlaylist, PosterFile, RungPlaylist("720p")…).
func (l Layout) Ladder(videoID, rel string) string { return l.HLS(videoID) + "/" + rel }

// RungPlaylist is a rendition's playlist relative to the HLS prefix; dir is
// the rung's name or AudioDir.
func (Layout) RungPlaylist(dir string) string { return path.Join(dir, MediaPlaylist) }

// Job is the prefix of a job's temporary files, with a trailing slash: the
// coordinator deletes it when the job ends.
func (Layout) Job(jobID string) string { return "jobs/" + jobID + "/" }

// Chunks is the prefix of a job's extracted chunk sources (the split's
// outputs), with a trailing slash.
func (l Layout) Chunks(jobID string) string { return l.Job(jobID) + "chunks/" }
