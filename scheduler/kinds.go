package scheduler

import "github.com/sunomi/sunomi/media"

// TaskKind says what a task does. Temporary minimal definition on the
// publish branch: the domain branch defines the real one (and the fields
// typed with it); the merge keeps theirs.
type TaskKind string

// The task kinds of a job, in the spelling the log has always recorded.
const (
	KindSplit  TaskKind = "split"
	KindEncode TaskKind = "encode"
	KindAudio  TaskKind = "audio"
	KindStitch TaskKind = "stitch"
)

// PreferredEncoders is the encoder preference of a ladder's encode tasks:
// ladders whose top rung's short side is 1080 or more would rather run on a
// hardware H.264 encoder (temporary minimal version, as TaskKind).
func PreferredEncoders(topRungShort int) []string {
	if topRungShort >= 1080 {
		return []string{media.EncoderNVENC, media.EncoderQSV}
	}
	return nil
}
