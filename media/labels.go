package media

import (
	"encoding/json"
	"slices"
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
// the encoders have (ChooseEncoder: the requested one when the host has it,
// else hardware first, else libx264; libsvtav1 for a task of AV1 rungs
// only), and the top rung of its ladder (its name: 1080p-av1 for AV1). With
// have unknown (nil) the label is the requested encoder, so auto is
// LabelOther. Rungs outside the default ladder (tiny sources get one at
// their own size), and unknown encoders, are LabelOther.
func EncodeLabels(spec json.RawMessage, have []string) (enc, rung string) {
	var s EncodeSpec
	if json.Unmarshal(spec, &s) != nil {
		return LabelOther, LabelOther
	}
	enc = s.Video.H264.Encoder
	if len(have) > 0 {
		enc = ChooseEncoder(enc, have)
	}
	rung = LabelOther
	if len(s.Video.Rungs) > 0 {
		top := slices.MaxFunc(s.Video.Rungs, func(x, y Rung) int { return x.Short - y.Short })
		if slices.ContainsFunc(DefaultRungs, func(r RungSpec) bool { return r.Short == top.Short }) {
			rung = top.Name
		}
		if !slices.ContainsFunc(s.Video.Rungs, func(r Rung) bool { return r.Codec != CodecAV1 }) {
			enc = EncoderSVTAV1 // the farm's AV1 tasks encode AV1 rungs only
		}
	}
	return Bounded(enc, []string{EncoderX264, EncoderNVENC, EncoderQSV, EncoderSVTAV1}), rung
}
