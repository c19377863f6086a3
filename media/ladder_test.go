package media

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseRungs(t *testing.T) {
	tests := []struct {
		in      string
		want    []int  // short sides, nil with wantErr
		wantErr string // a phrase of the error
	}{
		{in: "1080,720p, 480", want: []int{1080, 720, 480}},
		{in: "480,1080,720", want: []int{1080, 720, 480}},
		{in: "720,720p,720", want: []int{720}},
		{in: "240, 2160p ,1440", want: []int{2160, 1440, 240}},
		{in: "360", want: []int{360}},
		{in: "999", wantErr: "999"},
		{in: "abc", wantErr: "abc"},
		{in: "1080,abc", wantErr: "abc"},
		{in: "", wantErr: "not a number"},
		{in: "720,,480", wantErr: "not a number"},
		{in: "-720", wantErr: "-720"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			specs, err := ParseRungs(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseRungs(%q) = %v, want an error", tt.in, specs)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseRungs(%q) error = %q, want it to name %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRungs(%q) error: %v", tt.in, err)
			}
			var got []int
			for _, s := range specs {
				got = append(got, s.Short)
				i := slices.IndexFunc(DefaultRungs, func(d RungSpec) bool { return d.Short == s.Short })
				if i < 0 || DefaultRungs[i] != s {
					t.Errorf("spec %+v, want the default ladder's bit rate for %d", s, s.Short)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseRungs(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestParseRungsKeepsDefaults checks that parsing never reorders or edits the
// shared default ladder.
func TestParseRungsKeepsDefaults(t *testing.T) {
	before := slices.Clone(DefaultRungs)
	if _, err := ParseRungs("240,2160,720,720"); err != nil {
		t.Fatalf("ParseRungs error: %v", err)
	}
	if !slices.Equal(DefaultRungs, before) {
		t.Errorf("DefaultRungs = %v after ParseRungs, want %v", DefaultRungs, before)
	}
}
