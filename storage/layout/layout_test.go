package layout_test

import (
	"testing"

	"github.com/sunomi/sunomi/storage/layout"
)

func TestKeys(t *testing.T) {
	for _, tt := range []struct{ name, got, want string }{
		{"source", layout.Source("v1"), "videos/v1/source/original"},
		{"video", layout.Video("v1"), "videos/v1/"},
		{"hls", layout.HLS("v1"), "videos/v1/hls"},
		{"master", layout.Ladder("v1", layout.MasterPlaylist), "videos/v1/hls/master.m3u8"},
		{"rung playlist", layout.Ladder("v1", layout.RungPlaylist("720p")), "videos/v1/hls/720p/playlist.m3u8"},
		{"audio playlist", layout.RungPlaylist(layout.AudioDir), "audio/playlist.m3u8"},
		{"poster", layout.Ladder("v1", layout.PosterFile), "videos/v1/hls/poster.jpg"},
		{"storyboard image", layout.Ladder("v1", layout.StoryboardImage), "videos/v1/hls/storyboard.jpg"},
		{"storyboard map", layout.Ladder("v1", layout.StoryboardVTT), "videos/v1/hls/storyboard.vtt"},
		{"fingerprint", layout.Ladder("v1", layout.PHashFile), "videos/v1/hls/phash.json"},
		{"speech", layout.Ladder("v1", layout.SpeechFile), "videos/v1/hls/audio16k.wav"},
		{"job", layout.Job("j1"), "jobs/j1/"},
		{"chunks", layout.Chunks("j1"), "jobs/j1/chunks/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestVideoOfHLS(t *testing.T) {
	tests := []struct {
		output string
		want   string
		ok     bool
	}{
		{"videos/abc/hls", "abc", true},
		{"videos/abc/hls/", "abc", true},
		{"videos/abc/other", "", false},
		{"videos//hls", "", false},
		{"videos/a/b/hls", "", false},
		{"jobs/abc/hls", "", false},
		{"", "", false},
		{layout.HLS("v1"), "v1", true},
	}
	for _, tt := range tests {
		t.Run(tt.output, func(t *testing.T) {
			got, ok := layout.VideoOfHLS(tt.output)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
