package storage_test

import (
	"testing"

	"github.com/sunomi/sunomi/storage"
)

func TestLayout(t *testing.T) {
	var l storage.Layout
	for _, tt := range []struct{ name, got, want string }{
		{"source", l.Source("v1"), "videos/v1/source/original"},
		{"video", l.Video("v1"), "videos/v1/"},
		{"hls", l.HLS("v1"), "videos/v1/hls"},
		{"master", l.Ladder("v1", storage.MasterPlaylist), "videos/v1/hls/master.m3u8"},
		{"rung playlist", l.Ladder("v1", l.RungPlaylist("720p")), "videos/v1/hls/720p/playlist.m3u8"},
		{"audio playlist", l.RungPlaylist(storage.AudioDir), "audio/playlist.m3u8"},
		{"poster", l.Ladder("v1", storage.PosterFile), "videos/v1/hls/poster.jpg"},
		{"storyboard image", l.Ladder("v1", storage.StoryboardImage), "videos/v1/hls/storyboard.jpg"},
		{"storyboard map", l.Ladder("v1", storage.StoryboardVTT), "videos/v1/hls/storyboard.vtt"},
		{"fingerprint", l.Ladder("v1", storage.PHashFile), "videos/v1/hls/phash.json"},
		{"speech", l.Ladder("v1", storage.SpeechFile), "videos/v1/hls/audio16k.wav"},
		{"job", l.Job("j1"), "jobs/j1/"},
		{"chunks", l.Chunks("j1"), "jobs/j1/chunks/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
