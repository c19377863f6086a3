// Package media is the farm's media contract: the plain data that crosses
// the farm's boundaries — what a split finds in a source (probe, chunk plan,
// extracted files), what each task is asked to do (split, encode, audio and
// stitch specs, the ladder's rungs, the job's options) and what it reports
// back (chunk and audio results) — together with the pure functions over
// that data that both sides need: the playlists a job's results make, the
// metric labels of an encode task, the ladder's rung names.
//
// It is pure Go: the coordinator reads and writes all of it without linking
// libav, while segmenter, encoder and pipeline fill it in on the agents.
// Its JSON shapes are recorded in the Raft log (task specs and results), so
// a field is only ever added, never renamed or given a new meaning.
package media
