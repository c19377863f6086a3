package encoder

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/sunomi/sunomi/media"
)

func TestLadder(t *testing.T) {
	tests := []struct {
		name            string
		w, h            int
		specs           []media.RungSpec
		wantNames       []string
		wantWidths      []int
		wantHeights     []int
		wantMaxBitrates []int64 // nil: not checked
	}{
		{
			name: "1080p landscape", w: 1920, h: 1080, specs: media.DefaultRungs,
			wantNames:       []string{"1080p", "720p", "480p", "360p", "240p"},
			wantWidths:      []int{1920, 1280, 854, 640, 426},
			wantHeights:     []int{1080, 720, 480, 360, 240},
			wantMaxBitrates: []int64{6_000_000, 3_000_000, 1_500_000, 800_000, 400_000},
		},
		{
			name: "1080p portrait", w: 1080, h: 1920, specs: media.DefaultRungs,
			wantNames:   []string{"1080p", "720p", "480p", "360p", "240p"},
			wantWidths:  []int{1080, 720, 480, 360, 240},
			wantHeights: []int{1920, 1280, 854, 640, 426},
		},
		{
			// The display size of anamorphic NTSC widescreen (720×480 at SAR 32:27).
			name: "853x480 non-square display", w: 853, h: 480, specs: media.DefaultRungs,
			wantNames:   []string{"480p", "360p", "240p"},
			wantWidths:  []int{854, 640, 426},
			wantHeights: []int{480, 360, 240},
		},
		{
			name: "853x481 odd dimensions", w: 853, h: 481, specs: media.DefaultRungs,
			wantNames:   []string{"480p", "360p", "240p"},
			wantWidths:  []int{852, 638, 426},
			wantHeights: []int{480, 360, 240},
		},
		{
			name: "portrait phone 360x640", w: 360, h: 640, specs: media.DefaultRungs,
			wantNames:   []string{"360p", "240p"},
			wantWidths:  []int{360, 240},
			wantHeights: []int{640, 426},
		},
		{
			// Below the smallest rung: one rung at the source's own size.
			name: "160x120 tiny", w: 160, h: 120, specs: media.DefaultRungs,
			wantNames:       []string{"120p"},
			wantWidths:      []int{160},
			wantHeights:     []int{120},
			wantMaxBitrates: []int64{400_000},
		},
		{
			name: "4K", w: 3840, h: 2160, specs: media.DefaultRungs,
			wantNames:   []string{"2160p", "1440p", "1080p", "720p", "480p", "360p", "240p"},
			wantWidths:  []int{3840, 2560, 1920, 1280, 854, 640, 426},
			wantHeights: []int{2160, 1440, 1080, 720, 480, 360, 240},
			wantMaxBitrates: []int64{16_000_000, 10_000_000, 6_000_000, 3_000_000,
				1_500_000, 800_000, 400_000},
		},
		{
			name: "720p", w: 1280, h: 720, specs: media.DefaultRungs,
			wantNames:   []string{"720p", "480p", "360p", "240p"},
			wantWidths:  []int{1280, 854, 640, 426},
			wantHeights: []int{720, 480, 360, 240},
		},
		{
			// Just below 720 lines: 720p would be an upscale.
			name: "1278x718", w: 1278, h: 718, specs: media.DefaultRungs,
			wantNames: []string{"480p", "360p", "240p"},
		},
		{
			name: "square", w: 1080, h: 1080, specs: media.DefaultRungs,
			wantNames:   []string{"1080p", "720p", "480p", "360p", "240p"},
			wantWidths:  []int{1080, 720, 480, 360, 240},
			wantHeights: []int{1080, 720, 480, 360, 240},
		},
		{
			name: "ultra-wide 2560x1080", w: 2560, h: 1080, specs: media.DefaultRungs,
			wantNames:   []string{"1080p", "720p", "480p", "360p", "240p"},
			wantWidths:  []int{2560, 1706, 1138, 854, 568},
			wantHeights: []int{1080, 720, 480, 360, 240},
		},
		{
			name: "custom rungs", w: 1920, h: 1080, specs: []media.RungSpec{{Short: 720, MaxBitrate: 3_000_000}, {Short: 360, MaxBitrate: 800_000}},
			wantNames:   []string{"720p", "360p"},
			wantWidths:  []int{1280, 640},
			wantHeights: []int{720, 360},
		},
		{
			name: "no rungs", w: 1920, h: 1080, specs: nil,
			wantNames: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rungs := Ladder(tt.w, tt.h, tt.specs)
			var names []string
			var widths, heights []int
			var rates []int64
			for _, r := range rungs {
				names = append(names, r.Name)
				widths = append(widths, r.Width)
				heights = append(heights, r.Height)
				rates = append(rates, r.MaxBitrate)
			}
			if !slices.Equal(names, tt.wantNames) {
				t.Errorf("names = %v, want %v", names, tt.wantNames)
			}
			if tt.wantWidths != nil && !slices.Equal(widths, tt.wantWidths) {
				t.Errorf("widths = %v, want %v", widths, tt.wantWidths)
			}
			if tt.wantHeights != nil && !slices.Equal(heights, tt.wantHeights) {
				t.Errorf("heights = %v, want %v", heights, tt.wantHeights)
			}
			if tt.wantMaxBitrates != nil && !slices.Equal(rates, tt.wantMaxBitrates) {
				t.Errorf("max bitrates = %v, want %v", rates, tt.wantMaxBitrates)
			}
			wantLadderProperties(t, tt.w, tt.h, rungs)
		})
	}
}

// wantLadderProperties checks what every ladder must hold: even sizes, the
// short side named by the rung, the aspect ratio within rounding, no
// upscaling, and rungs from largest to smallest.
func wantLadderProperties(t *testing.T, w, h int, rungs []media.Rung) {
	t.Helper()
	for i, r := range rungs {
		if r.Width%2 != 0 || r.Height%2 != 0 || r.Width < 2 || r.Height < 2 {
			t.Errorf("rung %s is %dx%d, want even sizes", r.Name, r.Width, r.Height)
		}
		if short := min(r.Width, r.Height); short != r.Short || r.Name != fmt.Sprintf("%dp", r.Short) {
			t.Errorf("rung %q has short side %d (Short %d), want the short side it is named after", r.Name, short, r.Short)
		}
		if (r.Width >= r.Height) != (w >= h) {
			t.Errorf("rung %s is %dx%d, want the orientation of %dx%d", r.Name, r.Width, r.Height, w, h)
		}
		// The long side is the exact scaled size rounded to even: at most one pixel off.
		long, srcLong, srcShort := max(r.Width, r.Height), max(w, h), min(w, h)
		if exact := float64(srcLong) * float64(r.Short) / float64(srcShort); math.Abs(float64(long)-exact) > 1 {
			t.Errorf("rung %s is %dx%d, want the long side within 1 of %.2f to keep the aspect ratio", r.Name, r.Width, r.Height, exact)
		}
		// Never upscale: each side at most the source's, rounded up to even
		// where the source's is odd (4:2:0 needs even sizes).
		if r.Width > w+w%2 || r.Height > h+h%2 {
			t.Errorf("rung %s is %dx%d, larger than the source %dx%d", r.Name, r.Width, r.Height, w, h)
		}
		if i > 0 && r.Short >= rungs[i-1].Short {
			t.Errorf("rung %s follows %s, want rungs from largest to smallest", r.Name, rungs[i-1].Name)
		}
		if r.MaxBitrate <= 0 {
			t.Errorf("rung %s has MaxBitrate %d, want > 0", r.Name, r.MaxBitrate)
		}
	}
}

// TestLadderProperties runs the ladder over many display sizes.
func TestLadderProperties(t *testing.T) {
	sizes := [][2]int{}
	for _, short := range []int{90, 120, 121, 239, 240, 241, 359, 480, 481, 719, 720, 1079, 1080, 1081, 2160, 4320} {
		for _, aspect := range []float64{1, 4.0 / 3, 16.0 / 9, 1.85, 2.39} {
			long := int(math.Round(float64(short) * aspect))
			sizes = append(sizes, [2]int{long, short}, [2]int{short, long})
		}
	}
	for _, s := range sizes {
		t.Run(fmt.Sprintf("%dx%d", s[0], s[1]), func(t *testing.T) {
			rungs := Ladder(s[0], s[1], media.DefaultRungs)
			if len(rungs) == 0 {
				t.Fatalf("Ladder(%dx%d) has no rung, want at least one", s[0], s[1])
			}
			wantLadderProperties(t, s[0], s[1], rungs)
			// Every default rung that fits is there.
			short := min(s[0], s[1])
			var want []int
			for _, d := range media.DefaultRungs {
				if d.Short <= short {
					want = append(want, d.Short)
				}
			}
			var got []int
			for _, r := range rungs {
				got = append(got, r.Short)
			}
			if len(want) > 0 && !slices.Equal(got, want) {
				t.Errorf("rungs = %v, want every default rung up to %d: %v", got, short, want)
			}
		})
	}
}
