package encoder

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sunomi/sunomi/media"
)

// hasGPUDevice reports whether the host exposes a device a hardware H.264
// encoder could use (an NVIDIA device node or a DRM render node for QSV).
func hasGPUDevice(tb testing.TB) bool {
	tb.Helper()
	for _, pattern := range []string{"/dev/nvidia[0-9]*", "/dev/dri/renderD*"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return true
		}
	}
	return false
}

func TestAvailableEncoders(t *testing.T) {
	got := AvailableEncoders()
	if len(got) == 0 || got[0] != media.EncoderX264 {
		t.Fatalf("AvailableEncoders() = %v, want libx264 first", got)
	}
	// Only known encoders, each once, hardware ones in order of preference.
	var hw []string
	for _, e := range got[1:] {
		if !slices.Contains(media.HardwareEncoders(), e) {
			t.Errorf("AvailableEncoders() = %v holds %q, want only libx264 and %v", got, e, media.HardwareEncoders())
		}
		hw = append(hw, e)
	}
	var wantOrder []string
	for _, e := range media.HardwareEncoders() {
		if slices.Contains(hw, e) {
			wantOrder = append(wantOrder, e)
		}
	}
	if !slices.Equal(hw, wantOrder) {
		t.Errorf("hardware encoders = %v, want them once each in the order %v", hw, media.HardwareEncoders())
	}
	// Without a device no hardware encoder can open; with one, either answer
	// is possible (a driver or a free session may be missing).
	if !hasGPUDevice(t) && len(hw) > 0 {
		t.Errorf("AvailableEncoders() = %v on a host without a GPU device, want libx264 alone", got)
	}
	if again := AvailableEncoders(); !slices.Equal(again, got) {
		t.Errorf("second AvailableEncoders() = %v, want the same %v", again, got)
	}
}

func TestResolveEncoder(t *testing.T) {
	have := AvailableEncoders()
	wantAuto := media.EncoderX264
	for _, e := range have {
		if slices.Contains(media.HardwareEncoders(), e) {
			wantAuto = e
			break
		}
	}
	type tc struct {
		requested string
		want      string // "" when an error is expected
		wantErr   string // a phrase of the error
	}
	tests := []tc{
		{requested: media.EncoderAuto, want: wantAuto},
		{requested: "", want: wantAuto},
		{requested: media.EncoderX264, want: media.EncoderX264},
		{requested: "bogus", wantErr: "bogus"},
		{requested: "libx265", wantErr: "libx265"},
	}
	// Hardware encoders resolve to themselves where they open and fail with
	// ErrEncoderUnavailable where they do not, whichever this host is.
	for _, hw := range media.HardwareEncoders() {
		if slices.Contains(have, hw) {
			tests = append(tests, tc{requested: hw, want: hw})
		} else {
			tests = append(tests, tc{requested: hw, wantErr: hw})
		}
	}
	for _, tt := range tests {
		name := tt.requested
		if name == "" {
			name = "empty"
		}
		t.Run(name, func(t *testing.T) {
			got, err := ResolveEncoder(tt.requested)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ResolveEncoder(%q) = %q, want an error", tt.requested, got)
				}
				if !errors.Is(err, ErrEncoderUnavailable) {
					t.Errorf("ResolveEncoder(%q) error = %v, want one wrapping ErrEncoderUnavailable", tt.requested, err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ResolveEncoder(%q) error = %q, want it to name %q", tt.requested, err, tt.wantErr)
				}
				if got != "" {
					t.Errorf("ResolveEncoder(%q) = %q with an error, want \"\"", tt.requested, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveEncoder(%q) error: %v", tt.requested, err)
			}
			if got != tt.want {
				t.Errorf("ResolveEncoder(%q) = %q, want %q", tt.requested, got, tt.want)
			}
			if !slices.Contains(have, got) {
				t.Errorf("ResolveEncoder(%q) = %q, want one of AvailableEncoders() %v", tt.requested, got, have)
			}
		})
	}
}

// TestResolveEncoderWithoutGPU pins this host's answers when it has no GPU.
func TestResolveEncoderWithoutGPU(t *testing.T) {
	if hasGPUDevice(t) {
		t.Skip("host has a GPU device; TestResolveEncoder covers it")
	}
	if got, err := ResolveEncoder(media.EncoderAuto); err != nil || got != media.EncoderX264 {
		t.Errorf("ResolveEncoder(auto) = %q, %v; want libx264", got, err)
	}
	for _, hw := range []string{media.EncoderNVENC, media.EncoderQSV} {
		if _, err := ResolveEncoder(hw); !errors.Is(err, ErrEncoderUnavailable) {
			t.Errorf("ResolveEncoder(%q) error = %v, want ErrEncoderUnavailable", hw, err)
		}
	}
}
