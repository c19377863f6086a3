package pipeline

import (
	"encoding/json"
	"slices"

	"github.com/sunomi/sunomi/encoder"
)

// LabelOther stands for a metric label value outside the known set, so
// that labels stay bounded whatever a task or agent reports.
const LabelOther = "other"

// Bounded returns v when it is one of known, else LabelOther.
func Bounded(v string, known []string) string {
	if slices.Contains(known, v) {
		return v
	}
	return LabelOther
}

// EncodeLabels are the encoder an encode task runs with on a host offering
// the encoders have, and the top rung of its ladder. The split chose the
// encoder on its own host; one that does not open here falls back as
// RunTask does — hardware first, else libx264. Rungs outside the default
// ladder (tiny sources get one at their own size), and unknown encoders, are
// LabelOther.
func EncodeLabels(spec json.RawMessage, have []string) (enc, rung string) {
	var s EncodeSpec
	if json.Unmarshal(spec, &s) != nil {
		return LabelOther, LabelOther
	}
	enc = s.Video.H264.Encoder
	if len(have) > 0 && !slices.Contains(have, enc) {
		enc = encoder.EncoderX264
		for _, hw := range []string{encoder.EncoderNVENC, encoder.EncoderQSV} {
			if slices.Contains(have, hw) {
				enc = hw
				break
			}
		}
	}
	rung = LabelOther
	if len(s.Video.Rungs) > 0 {
		top := slices.MaxFunc(s.Video.Rungs, func(x, y encoder.Rung) int { return x.Short - y.Short })
		if slices.ContainsFunc(encoder.DefaultRungs, func(r encoder.RungSpec) bool { return r.Short == top.Short }) {
			rung = top.Name
		}
	}
	return Bounded(enc, []string{encoder.EncoderX264, encoder.EncoderNVENC, encoder.EncoderQSV}), rung
}
