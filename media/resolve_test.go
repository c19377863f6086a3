package media

import "testing"

func TestChooseEncoder(t *testing.T) {
	gpu := []string{EncoderX264, EncoderNVENC}
	for _, tt := range []struct {
		name, requested string
		have            []string
		want            string
	}{
		{"auto on a GPU host", EncoderAuto, gpu, EncoderNVENC},
		{"auto on a CPU host", EncoderAuto, []string{EncoderX264}, EncoderX264},
		{"auto, QSV only", EncoderAuto, []string{EncoderX264, EncoderQSV}, EncoderQSV},
		{"explicit and present", EncoderX264, gpu, EncoderX264},
		{"explicit and missing falls back as auto", EncoderQSV, gpu, EncoderNVENC},
		{"nothing known", EncoderAuto, nil, EncoderX264},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChooseEncoder(tt.requested, tt.have); got != tt.want {
				t.Errorf("ChooseEncoder(%q, %v) = %q, want %q", tt.requested, tt.have, got, tt.want)
			}
		})
	}
}
