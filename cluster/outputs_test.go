package cluster

import (
	"errors"
	"testing"

	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
)

func TestOutputPrefix(t *testing.T) {
	for _, tt := range []struct {
		requested, want string
		ok              bool
	}{
		{"", "videos/j1/hls", true},
		{"videos/42/hls", "videos/42/hls", true},
		{"videos/42/hls/", "videos/42/hls", true},
		{"archive/42", "archive/42", true},
		{"videos", "", false},
		{"videos/", "", false},
		{"/videos/42", "", false},
		{"videos/../42", "", false},
		{"videos//42", "", false},
		{"jobs/j2/chunks", "", false},
	} {
		got, err := outputPrefix(tt.requested, "j1")
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("outputPrefix(%q) = %q, %v; want %q (ok %v)", tt.requested, got, err, tt.want, tt.ok)
		}
	}
}

func TestCheckOutputName(t *testing.T) {
	encode := scheduler.TaskInfo{ID: "j-e00003", Kind: scheduler.KindEncode, Index: 3}
	audio := scheduler.TaskInfo{ID: "j-audio", Kind: scheduler.KindAudio}
	audioRest := scheduler.TaskInfo{ID: "j-audio-rest", Kind: scheduler.KindAudio, Index: media.AudioPartRest}
	stitch := scheduler.TaskInfo{ID: "j-stitch", Kind: scheduler.KindStitch}
	split := scheduler.TaskInfo{ID: "j-split", Kind: scheduler.KindSplit}
	av1 := scheduler.TaskInfo{ID: "j-720p-av1-e00003", Kind: scheduler.KindEncodeAV1, Index: 3, Rung: "720p-av1"}
	for _, tt := range []struct {
		name string
		info scheduler.TaskInfo
		out  string
		ok   bool
	}{
		{"encode segment", encode, "720p/c00003_a2_00007.ts", true},
		{"encode thumbnail", encode, "thumbs/c00003_a2_t00001.jpg", true},
		{"encode poster candidate", encode, "thumbs/c00003_a2_poster.jpg", true},
		{"encode fMP4 segment", encode, "720p/c00003_a2_00007.m4s", true},
		{"encode init segment", encode, "720p/c00003_a2_init.mp4", true},
		{"encode init segment of another attempt", encode, "720p/c00003_a1_init.mp4", false},
		{"encode writing the DASH manifest", encode, "manifest.mpd", false},
		{"encode segment of another attempt", encode, "720p/c00003_a1_00007.ts", false},
		{"encode segment of another chunk", encode, "720p/c00004_a2_00007.ts", false},
		{"encode writing the master playlist", encode, "master.m3u8", false},
		{"encode writing a rendition playlist", encode, "720p/playlist.m3u8", false},
		{"audio segment", audio, "audio/a2_00001.ts", true},
		{"audio speech track", audio, "audio/a2_16k.wav", true},
		{"audio writing an encode segment", audio, "720p/c00003_a2_00007.ts", false},
		{"head's audio writing the rest's segment", audio, "audio/p1_a2_00001.ts", false},
		{"rest of the audio segment", audioRest, "audio/p1_a2_00001.ts", true},
		{"rest of the audio speech track", audioRest, "audio/p1_a2_16k.wav", true},
		{"rest of the audio writing the head's segment", audioRest, "audio/a2_00001.ts", false},
		{"rest of the audio writing another attempt's", audioRest, "audio/p1_a1_00001.ts", false},
		{"stitch master", stitch, "master.m3u8", true},
		{"stitch rendition playlist", stitch, "audio/playlist.m3u8", true},
		{"stitch poster", stitch, "poster.jpg", true},
		{"stitch DASH manifest", stitch, "manifest.mpd", true},
		{"audio init segment", audio, "audio/a2_init.mp4", true},
		{"stitch overwriting a segment", stitch, "720p/c00003_a2_00007.ts", false},
		{"stitch deep playlist", stitch, "a/b/playlist.m3u8", false},
		{"split chunk", split, "chunk_00003.nut", true},
		{"AV1 segment", av1, "720p-av1/c00003_a2_00007.m4s", true},
		{"AV1 init segment", av1, "720p-av1/c00003_a2_init.mp4", true},
		{"AV1 writing the H.264 rung", av1, "720p/c00003_a2_00007.m4s", false},
		{"AV1 writing another AV1 rung", av1, "360p-av1/c00003_a2_00007.m4s", false},
		{"AV1 segment of another attempt", av1, "720p-av1/c00003_a1_00007.m4s", false},
		{"AV1 writing the master playlist", av1, "master.m3u8", false},
		{"encode writing an AV1 rung", encode, "720p-av1/c00003_a2_00007.m4s", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkOutputName(tt.info, 2, tt.out)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, errForeignOutput)) {
				t.Errorf("checkOutputName(%s, 2, %q) = %v; want ok %v", tt.info.Kind, tt.out, err, tt.ok)
			}
		})
	}
}
