package cluster

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
	"github.com/sunomi/sunomi/storage/layout"
)

// A job owns its output prefix while it runs: its agents write under it and
// its clean-up deletes what they wrote there. Two live jobs never share
// one, nor nest one inside the other (the state machine refuses it, see
// scheduler.ErrOutputTaken), so that no job's agents overwrite, and no
// job's clean-up deletes, what another job publishes.

// minOutputDepth is the fewest segments an output prefix has: "videos" alone
// would name every video of the platform.
const minOutputDepth = 2

// outputPrefix is the prefix a new job publishes under: the one the
// submitter named, or else "videos/{jobID}/hls".
func outputPrefix(requested, jobID string) (string, error) {
	if requested == "" {
		return "videos/" + jobID + "/hls", nil
	}
	prefix := strings.TrimSuffix(requested, "/")
	if err := storage.ValidateKey(prefix); err != nil {
		return "", fmt.Errorf("output %q must be a clean relative storage prefix such as videos/42/hls", requested)
	}
	if strings.Count(prefix, "/")+1 < minOutputDepth {
		return "", fmt.Errorf("output %q must have at least %d path segments, such as videos/42/hls", requested, minOutputDepth)
	}
	if root, _, _ := strings.Cut(layout.Job("_"), "/"); strings.HasPrefix(prefix, root+"/") {
		return "", fmt.Errorf("output %q lies under %s/, where the farm keeps its jobs' temporary files", requested, root)
	}
	return prefix, nil
}

// errForeignOutput refuses an output name outside the attempt's own names.
var errForeignOutput = errors.New("output name outside the attempt's own")

// checkOutputName refuses an output that attempt n of a task may not write.
// A split writes under a prefix of its attempt's own (see outputKey); encode
// and audio attempts write names tagged with their chunk (or audio part) and
// attempt, as the encoder makes them (c00003_a2_00001.ts, a2_00001.ts,
// p1_a2_00007.ts); only the stitch
// writes the ladder's published files. So no attempt overwrites another's
// objects, nor the playlists viewers load.
func checkOutputName(info scheduler.TaskInfo, n int, name string) error {
	base := path.Base(name)
	var ok bool
	switch info.Kind {
	case scheduler.KindSplit:
		ok = true
	case scheduler.KindEncode:
		ok = strings.HasPrefix(base, fmt.Sprintf("c%05d_a%d_", info.Index, n)) && !media.IsAV1RungName(path.Dir(name)) &&
			partMayWrite(info, path.Dir(name))
	case scheduler.KindEncodeAV1:
		// Only into its own rung's directory: an AV1 attempt of chunk 3
		// may not write the H.264 rungs' files of chunk 3.
		ok = strings.HasPrefix(name, fmt.Sprintf("%s/c%05d_a%d_", info.Rung, info.Index, n))
	case scheduler.KindAudio:
		// The head's part of a track (index 0) and the rest write
		// different names (media.AudioPrefix).
		ok = strings.HasPrefix(base, media.AudioPrefix(info.Index, n))
	case scheduler.KindStitch:
		ok = ladderFile(name)
	}
	if !ok {
		return fmt.Errorf("attempt %d of %s task %s may not write output %q: %w", n, info.Kind, info.ID, name, errForeignOutput)
	}
	return nil
}

// ladderFile reports whether name is one of the files a stitch publishes:
// the master playlist, a rendition's playlist, poster, storyboard,
// fingerprint and speech track.
func ladderFile(name string) bool {
	if dir, file := path.Split(name); file == layout.MediaPlaylist && dir != "" && strings.Count(dir, "/") == 1 {
		return true
	}
	return slices.Contains(publishedFiles, name)
}

// publishedFiles are the files of a ladder besides its playlists' segments
// and renditions, relative to its prefix.
var publishedFiles = []string{layout.MasterPlaylist, layout.DASHManifest, layout.PosterFile, layout.StoryboardImage,
	layout.StoryboardVTT, layout.PHashFile, layout.SpeechFile}
