package pipeline_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/internal/testmedia"
	"github.com/sunomi/sunomi/media"
)

// tsPacket is the size of an MPEG-TS packet.
const tsPacket = 188

// damageFirstIDR returns a copy of the MPEG-TS file src whose first IDR slice is damaged from its
// third byte on, for n bytes, as a bad sector or a broken phone recording damages it: its slice
// header and the first macroblocks no longer parse, so the decoder drops the picture. Transport
// packet headers and adaptation fields stay intact, so the demuxer reads every packet as before.
func damageFirstIDR(tb testing.TB, src string, n int) string {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	idr := bytes.Index(b, []byte{0, 0, 1, 0x65}) // start code, nal_unit_type 5 with nal_ref_idc 3
	if idr < 0 {
		tb.Fatalf("%s has no IDR slice", src)
	}
	pid := func(pkt int) int { return int(b[pkt+1]&0x1f)<<8 | int(b[pkt+2]) }
	first := idr - idr%tsPacket
	video := pid(first)
	damaged := 0
	for i := idr + 6; i < len(b) && damaged < n; i++ {
		pkt := i - i%tsPacket
		payloadOnly := b[pkt+3]&0x30 == 0x10
		// The IDR's own packet carries an adaptation field (PCR) before it: every byte after the
		// slice's start is slice data; later packets of the PID are damaged past their header.
		if pkt == first || pid(pkt) == video && payloadOnly && i%tsPacket >= 4 {
			b[i] ^= 0x5a
			damaged++
		}
	}
	out := filepath.Join(tb.TempDir(), "damaged-idr-"+filepath.Base(src))
	if err := os.WriteFile(out, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestTranscodeDamagedFirstKeyframe transcodes a constant-rate clip whose first IDR frame does not
// decode: the report names the lost frames, and the rung stays constant-rate and whole (the hole
// at the start is filled with a picture, not left for the player to stretch the next frame over).
func TestTranscodeDamagedFirstKeyframe(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const fps = 30
	spec := testmedia.CFRTS(6, 320, 240, fps, true)
	spec.Name, spec.Args = "cfrts-gop30-6s-320x240-30fps", append(spec.Args, "-g", "30")
	src := damageFirstIDR(t, testmedia.Generate(t, spec), 3000)
	eachSegmentFormat(t, func(t *testing.T, format media.SegmentFormat) {
		l := transcodeFile(t, ladderCase{name: "damaged-first-idr", segment: 2 * time.Second, chunk: 2 * time.Second,
			fps: fps, cfr: true, audio: true, segments: format}, src)

		t.Run("report names the lost frames", func(t *testing.T) {
			var named bool
			for _, w := range l.report.Warnings {
				named = named || strings.HasPrefix(w, "chunk 0: ") && strings.Contains(w, "could not be decoded (at 0.000 s")
			}
			if !named {
				t.Errorf("report warnings %q, want one naming chunk 0's lost frame at 0.000 s", l.report.Warnings)
			}
		})
		t.Run("rung constant-rate and whole", func(t *testing.T) {
			want := int(math.Round(l.src.duration * fps))
			for _, r := range l.rungs {
				if got := countFrames(t, l.path(r.uri)); got != want {
					t.Errorf("%s decodes to %d frames, want %d (%.3f s at %d fps)", r.name, got, want, l.src.duration, fps)
				}
				pts := sortedPTS(r.allVideo())
				if start := float64(encoder.TimelineOffset) / 90000; !near(pts[0], start, 1e-4) {
					t.Errorf("%s starts at %.4f s, want the timeline's start %.4f s", r.name, pts[0], start)
				}
				for i := 1; i < len(pts); i++ {
					if d := pts[i] - pts[i-1]; !near(d, 1.0/fps, 1e-4) {
						t.Errorf("%s: frames at %.4f and %.4f s are %.4f s apart, want %.4f s", r.name, pts[i-1], pts[i], d, 1.0/fps)
					}
				}
			}
		})
		t.Run("decodes without errors", l.checkDecodes)
		t.Run("segments join without corrupt packets", l.checkJoins)
		t.Run("segments aligned", l.checkSegments)
		t.Run("timestamps continuous", l.checkContinuity)
	})
}
