package hls

import (
	"fmt"
	"strconv"
	"strings"
)

// JoinAVCCodecs returns the RFC 6381 string that covers every H.264 stream
// of a rendition whose segments came from several encodes (chunks encoded
// on different agents, by different encoders): the highest profile_idc any
// of them uses, with the constraint flags every stream of that profile sets,
// and the highest level_idc. A player that can decode it can decode each
// part. Strings that are not "avc1.PPCCLL" are skipped; with none left it
// returns "".
func JoinAVCCodecs(codecs []string) string {
	var profile, flags, level uint64
	found := false
	for _, c := range codecs {
		hex, ok := strings.CutPrefix(c, "avc1.")
		if !ok || len(hex) != 6 {
			continue
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			continue
		}
		p, f, l := v>>16, v>>8&0xff, v&0xff
		switch {
		case !found || p > profile:
			profile, flags = p, f
		case p == profile:
			flags &= f
		}
		level = max(level, l)
		found = true
	}
	if !found {
		return ""
	}
	return fmt.Sprintf("avc1.%02x%02x%02x", profile, flags, level)
}
