package encoder

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/asticode/go-astiav"

	"github.com/sunomi/sunomi/hls"
	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/media"
)

// chunkFilePrefix starts the name of every file a chunk attempt writes
// (c00003_a2_00001.ts, c00003_a2_init.mp4): unique per attempt, and what the
// coordinator lets the attempt write.
func chunkFilePrefix(chunk, attempt int) string {
	return fmt.Sprintf("c%05d_a%d_", chunk, attempt)
}

// EncodeChunk decodes an extracted chunk once, keeps exactly the frames with
// StartPTS <= pts < EndPTS, and feeds them through one filter graph (deinterlace,
// rotate, a scaler per rung) to an encoder per rung: H.264, or SVT-AV1 for
// an AV1 rung. Every segment of every rung starts with a keyframe at its
// boundary (an IDR, or an AV1 key frame) and is muxed into its own MPEG-TS
// or fMP4 file with timestamps on the global output timeline.
func EncodeChunk(ctx context.Context, spec media.ChunkSpec, set media.VideoSettings) (*media.ChunkResult, error) {
	e, err := newChunkEncoder(spec, set)
	if err != nil {
		return nil, err
	}
	defer e.close()
	if err := e.run(ctx); err != nil {
		return nil, err
	}
	return e.result()
}

// progressEvery is how often, in frames, an encode task reports progress.
const progressEvery = 25

// chunkEncoder holds the libav state of one encode task.
type chunkEncoder struct {
	spec  media.ChunkSpec
	set   media.VideoSettings
	src   *decodedInput
	graph *filterGraph
	rungs []*rungEncoder
	out   *astiav.Frame

	srcTB        astiav.Rational // the chunk file's time base
	start, end   int64           // chunk range in srcTB
	origin       int64
	boundaries   []int64 // in srcTB
	segStarts    map[int]int64
	lastPTS      int64 // last frame at or after start, kept or not
	lastDuration int64
	endPTS       int64 // first frame at or after end: where the chunk stops
	kept         int
	damagedAt    []int64 // frames the decoder concealed errors in
	// prev is the last picture decoded (pre-roll included) and prevPTS its
	// timestamp (NoPtsValue before the first): a constant-rate source's
	// frames the decoder loses are filled with it.
	prev      *astiav.Frame
	prevPTS   int64
	lastKept  int64   // last frame sent to the rungs, decoded or filled
	interval  float64 // between kept frames, in srcTB; 0 for a variable-rate source
	sourceEnd int64   // where the last chunk's last frame ends, in srcTB
	filledAt  []int64 // frames the decoder lost, filled with the previous picture
	thumbs    thumbnailer
	hashes    *frameHasher
	hashRung  int
	warnings  []string
}

func newChunkEncoder(spec media.ChunkSpec, set media.VideoSettings) (*chunkEncoder, error) {
	if len(set.Rungs) == 0 {
		return nil, errors.New("no rungs to encode")
	}
	e := &chunkEncoder{spec: spec, set: set, segStarts: map[int]int64{},
		lastPTS: astiav.NoPtsValue, endPTS: astiav.NoPtsValue, out: astiav.AllocFrame(),
		prev: astiav.AllocFrame(), prevPTS: astiav.NoPtsValue, lastKept: astiav.NoPtsValue}
	if err := e.open(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *chunkEncoder) open() error {
	var err error
	if e.src, err = openDecodedInput(e.spec.Source, astiav.MediaTypeVideo, e.spec.Params); err != nil {
		return fmt.Errorf("chunk %d: %w", e.spec.Chunk.Index, err)
	}
	e.srcTB = e.src.stream.TimeBase()
	planTB := astiav.NewRational(e.spec.TimeBase.Num, e.spec.TimeBase.Den)
	// The chunk file may store another time base than the source did.
	toSrc := func(pts int64) int64 {
		if pts == media.NoEnd {
			return pts
		}
		return astiav.RescaleQ(pts+e.spec.Shift, planTB, e.srcTB)
	}
	e.start, e.end, e.origin = toSrc(e.spec.Chunk.StartPTS), toSrc(e.spec.Chunk.EndPTS), toSrc(e.spec.OriginPTS)
	for _, b := range e.spec.Boundaries {
		e.boundaries = append(e.boundaries, toSrc(b))
	}
	if e.set.ConstantRate && e.set.FrameRate.Float() > 0 {
		e.interval = float64(max(e.set.FrameStep, 1)) / e.set.FrameRate.Float() / e.srcTB.Float64()
		// The plan's Chunk.End is the source's end for the last chunk.
		end := e.spec.OriginPTS + int64(math.Round(e.spec.Chunk.End/planTB.Float64()))
		e.sourceEnd = toSrc(end)
	}

	var turns chan struct{}
	if e.spec.Threads > 0 {
		turns = make(chan struct{}, e.spec.Threads)
	}
	for i, r := range e.set.Rungs {
		re, err := newRungEncoder(r, e.set, e.spec, i == media.ThumbnailRung(e.set.Rungs), turns)
		if err != nil {
			return err
		}
		e.rungs = append(e.rungs, re)
	}
	e.thumbs = newThumbnailer(e.spec, e.set)
	e.hashes, e.hashRung = newFrameHasher(e.spec.Chunk, e.set.PHashInterval), media.HashRung(e.set.Rungs)
	return nil
}

// filterDesc builds the graph: deinterlace and rotate once, then split into
// one scaler per rung.
func (e *chunkEncoder) filterDesc() string {
	var pre []string
	if e.set.Deinterlace {
		pre = append(pre, "yadif=mode=send_frame:deint=interlaced")
	}
	switch e.set.Rotation {
	case 90:
		pre = append(pre, "transpose=clock")
	case 180:
		pre = append(pre, "hflip", "vflip")
	case 270:
		pre = append(pre, "transpose=cclock")
	}
	n := len(e.set.Rungs)
	if n > 1 {
		var outs strings.Builder
		for i := range n {
			fmt.Fprintf(&outs, "[s%d]", i)
		}
		pre = append(pre, fmt.Sprintf("split=%d%s", n, outs.String()))
	}
	head := "[in]" + strings.Join(pre, ",")
	if len(pre) == 0 {
		head = "[in]null"
	}
	var b strings.Builder
	for i, r := range e.set.Rungs {
		scale := fmt.Sprintf("scale=%d:%d:flags=bicubic,setsar=1,format=%s[out%d]",
			r.Width, r.Height, rungPixelFormat(r, e.set.H264.Encoder).Name(), i)
		switch {
		case n == 1:
			b.WriteString(head + "," + scale)
		case i == 0:
			fmt.Fprintf(&b, "%s;[s%d]%s", head, i, scale)
		default:
			fmt.Fprintf(&b, ";[s%d]%s", i, scale)
		}
	}
	return b.String()
}

func (e *chunkEncoder) openGraph(f *astiav.Frame) error {
	sar := f.SampleAspectRatio()
	if sar.Num() <= 0 || sar.Den() <= 0 {
		sar = astiav.NewRational(1, 1)
	}
	args := astiav.FilterArgs{
		"video_size":   fmt.Sprintf("%dx%d", f.Width(), f.Height()),
		"pix_fmt":      strconv.Itoa(int(f.PixelFormat())),
		"time_base":    e.srcTB.String(),
		"pixel_aspect": sar.String(),
	}
	var err error
	e.graph, err = newFilterGraph(false, args, e.filterDesc(), len(e.rungs))
	return err
}

func (e *chunkEncoder) run(ctx context.Context) error {
	ended := func() bool { return e.endPTS != astiav.NoPtsValue }
	if err := e.src.run(ctx, ended, e.handleFrame); err != nil {
		return err
	}
	if e.src.warning != "" {
		e.warnings = append(e.warnings, fmt.Sprintf("chunk %d: %s", e.spec.Chunk.Index, e.src.warning))
	}
	if e.kept == 0 {
		return fmt.Errorf("chunk %d: no frame could be decoded", e.spec.Chunk.Index)
	}
	if err := e.fillTail(); err != nil {
		return err
	}
	if e.endPTS == astiav.NoPtsValue {
		e.endPTS = e.lastPTS + e.lastDuration
	}
	if e.graph != nil {
		if err := e.graph.push(nil); err != nil {
			return err
		}
		if err := e.drainGraph(); err != nil {
			return err
		}
	}
	for _, r := range e.rungs {
		if err := r.finish(); err != nil {
			return err
		}
	}
	return nil
}

func (e *chunkEncoder) handleFrame(f *astiav.Frame) error {
	pts := avx.BestEffortTimestamp(f)
	if pts == astiav.NoPtsValue || pts <= e.lastPTS && e.lastPTS != astiav.NoPtsValue {
		return nil // a duplicate timestamp
	}
	if pts < e.start {
		if e.keepFrame(pts) {
			e.remember(f, pts) // pre-roll: the picture before the chunk's first frame
		}
		return nil
	}
	if pts >= e.end {
		e.endPTS = pts
		return nil
	}
	e.lastPTS = pts
	e.lastDuration = avx.Duration(f)
	if e.lastDuration <= 0 {
		e.lastDuration = int64(math.Round(1 / e.set.FrameRate.Float() / e.srcTB.Float64()))
	}
	if !e.keepFrame(pts) {
		return nil
	}
	if avx.Damaged(f) {
		e.damagedAt = append(e.damagedAt, pts)
	}
	if err := e.fillBefore(f, pts); err != nil {
		return err
	}
	e.kept++
	if err := e.encodeFrame(f, pts); err != nil {
		return err
	}
	e.remember(f, pts)
	return nil
}

// encodeFrame sends a decoded (or repeated) picture at pts through the
// graph to every rung.
func (e *chunkEncoder) encodeFrame(f *astiav.Frame, pts int64) error {
	seg := e.segmentOf(pts)
	if _, ok := e.segStarts[seg]; !ok {
		e.segStarts[seg] = pts
	}
	e.lastKept = pts
	if e.spec.Progress != nil && e.encoded()%progressEvery == 0 {
		e.spec.Progress(int64(e.encoded()))
	}
	if e.graph == nil {
		if err := e.openGraph(f); err != nil {
			return err
		}
	}
	f.SetPts(pts)
	if err := e.graph.push(f); err != nil {
		return err
	}
	return e.drainGraph()
}

// encoded counts the frames sent to the rungs so far.
func (e *chunkEncoder) encoded() int { return e.kept + len(e.filledAt) }

// remember keeps a reference to the last decoded picture.
func (e *chunkEncoder) remember(f *astiav.Frame, pts int64) {
	if e.interval == 0 {
		return
	}
	e.prev.Unref()
	if err := e.prev.Ref(f); err != nil {
		e.prevPTS = astiav.NoPtsValue
		return
	}
	e.prevPTS = pts
}

// fillBefore fills the frame times of a constant-rate source that the
// decoder lost before the decoded frame next at pts (a damaged keyframe
// takes the frames that depend on it along): with the previous picture, or
// at the start of a chunk where none was decoded, with next's. Times are
// counted from real frames, not from the origin, so a nominal rate that
// drifts a little from the timestamps never adds a frame.
func (e *chunkEncoder) fillBefore(next *astiav.Frame, pts int64) error {
	if e.interval == 0 {
		return nil
	}
	limit := pts - int64(e.interval/2)
	from := e.lastKept
	if from == astiav.NoPtsValue {
		from = e.prevPTS
	}
	if from != astiav.NoPtsValue {
		return e.fill(e.prev, from, limit)
	}
	// No earlier picture: the frames from the chunk's start up to next.
	// Tolerate the rounding of a frame time that sits on the start.
	var missing int64
	for n := int64(1); pts-int64(math.Round(float64(n)*e.interval)) >= e.start-max(2, int64(e.interval/100)); n++ {
		missing = n
	}
	if missing == 0 {
		return nil
	}
	first := max(pts-int64(math.Round(float64(missing)*e.interval)), e.start)
	if err := e.fillOne(next, first); err != nil {
		return err
	}
	return e.fill(next, first, limit)
}

// fillTail fills the frame times between the chunk's last decoded frame and
// its end: the next chunk's start, or the source's end for the last chunk.
func (e *chunkEncoder) fillTail() error {
	if e.interval == 0 || e.lastKept == astiav.NoPtsValue {
		return nil
	}
	limit := e.end
	if e.endPTS != astiav.NoPtsValue {
		limit = min(limit, e.endPTS-int64(e.interval/2))
	}
	if e.end == media.NoEnd {
		limit = e.sourceEnd - int64(e.interval/2)
	}
	return e.fill(e.prev, e.lastKept, limit)
}

// fill repeats pic at every frame time of the chunk after from and before
// limit.
func (e *chunkEncoder) fill(pic *astiav.Frame, from, limit int64) error {
	for n := 1; ; n++ {
		pts := from + int64(math.Round(float64(n)*e.interval))
		if pts >= limit {
			return nil
		}
		if pts < e.start {
			continue // lost before the chunk: the previous chunk's to fill
		}
		if err := e.fillOne(pic, pts); err != nil {
			return err
		}
	}
}

func (e *chunkEncoder) fillOne(pic *astiav.Frame, pts int64) error {
	e.filledAt = append(e.filledAt, pts)
	if pts > e.lastPTS || e.lastPTS == astiav.NoPtsValue {
		e.lastPTS = pts
	}
	return e.encodeFrame(pic, pts)
}

// keepFrame drops every other frame (or more) of sources above 60 fps,
// counting frames from the origin so all chunks drop the same ones.
func (e *chunkEncoder) keepFrame(pts int64) bool {
	step := e.set.FrameStep
	if step <= 1 {
		return true
	}
	n := int64(math.Round(float64(pts-e.origin) * e.srcTB.Float64() * e.set.FrameRate.Float()))
	return n%int64(step) == 0
}

// segmentOf returns the global index of the segment a timestamp falls in.
func (e *chunkEncoder) segmentOf(pts int64) int {
	i := 0
	for i+1 < len(e.boundaries) && pts >= e.boundaries[i+1] {
		i++
	}
	return e.spec.Chunk.FirstSegment + i
}

func (e *chunkEncoder) drainGraph() error {
	for i, r := range e.rungs {
		// yadif doubles the time base's resolution: read each sink's own.
		sinkTB := e.graph.sinks[i].Inputs()[0].TimeBase()
		err := e.graph.pull(i, e.out, func(f *astiav.Frame) error {
			src := astiav.RescaleQ(f.Pts(), sinkTB, e.srcTB)
			seg := e.segmentOf(src)
			if r.thumbnails {
				if err := e.thumbs.offer(f, e.seconds(src)); err != nil {
					e.warnings = append(e.warnings, err.Error())
				}
			}
			if i == e.hashRung {
				if err := e.hashes.offer(f, e.seconds(src)); err != nil {
					e.warnings = append(e.warnings, fmt.Sprintf("chunk %d: %v", e.spec.Chunk.Index, err))
				}
			}
			f.SetPts(TimelineOffset + astiav.RescaleQ(src-e.origin, e.srcTB, OutputTimeBase))
			return r.submit(f, seg)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *chunkEncoder) seconds(pts int64) float64 {
	return float64(pts-e.origin) * e.srcTB.Float64()
}

func (e *chunkEncoder) result() (*media.ChunkResult, error) {
	res := &media.ChunkResult{Index: e.spec.Chunk.Index, Frames: e.encoded(), Warnings: e.warnings}
	first := e.spec.Chunk.FirstSegment
	for i := first; i < first+e.spec.Chunk.Segments; i++ {
		start, ok := e.segStarts[i]
		if !ok {
			continue // no frame falls in it: the previous segment covers the gap
		}
		end := e.endPTS
		for j := i + 1; j < first+e.spec.Chunk.Segments; j++ {
			if s, ok := e.segStarts[j]; ok {
				end = s
				break
			}
		}
		res.Segments = append(res.Segments, media.SegmentTiming{Index: i, Start: e.seconds(start), Duration: e.seconds(end) - e.seconds(start)})
	}
	for _, r := range e.rungs {
		res.Rungs = append(res.Rungs, media.RungOutput{Name: r.rung.Name, Codec: r.codec, Encoder: r.encoderName, Files: r.files,
			Init: r.out.initIn(r.rung.Name)})
	}
	res.Warnings = append(res.Warnings, e.damageWarnings()...)
	var err error
	if res.PHash, err = e.hashes.finish(); err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("chunk %d: %v", e.spec.Chunk.Index, err))
	}
	res.Thumbnails, res.Poster, err = e.thumbs.finish()
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (e *chunkEncoder) close() {
	for _, r := range e.rungs {
		r.close()
	}
	if e.graph != nil {
		e.graph.free()
	}
	if e.hashes != nil {
		e.hashes.close()
	}
	if e.src != nil {
		e.src.close()
	}
	e.out.Free()
	e.prev.Free()
}

// rungEncoder encodes one rung of a chunk into segment files.
type rungEncoder struct {
	rung       media.Rung
	spec       media.ChunkSpec
	dir        string
	enc        *astiav.CodecContext
	pkt        *astiav.Packet
	thumbnails bool
	forcedSeg  int // last segment whose first frame was forced to IDR
	out        *segmentOutput
	seg        segmentWriter
	segPath    string
	segIndex   int
	codec      string
	// encoderName is the libavcodec encoder of the rung: the job's H.264
	// encoder, or SVT-AV1 for an AV1 rung.
	encoderName string
	fed         bool // the encoder was sent a frame
	files       []media.SegmentFile

	frames chan rungFrame
	done   chan struct{}
	turns  chan struct{} // shared by the chunk's rungs when Threads caps them
	inline bool          // Threads is 1: encode on the caller's goroutine
	closed bool          // frames is closed; touched by the chunk's goroutine only
	failed atomic.Bool   // err is set
	err    error         // written by loop, read after done
}

func newRungEncoder(r media.Rung, set media.VideoSettings, spec media.ChunkSpec, thumbnails bool, turns chan struct{}) (*rungEncoder, error) {
	step := max(set.FrameStep, 1)
	fps := astiav.NewRational(set.FrameRate.Num, set.FrameRate.Den*step)
	enc, codec, encoderName, err := openRung(r, set, fps, spec.Chunk.Index > 0)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(spec.OutDir, r.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		enc.Free()
		return nil, fmt.Errorf("create rung dir: %w", err)
	}
	out := &segmentOutput{format: set.Segments, dir: dir, prefix: chunkFilePrefix(spec.Chunk.Index, spec.Attempt),
		frameDuration: astiav.RescaleQ(1, astiav.NewRational(fps.Den(), fps.Num()), OutputTimeBase)}
	re := &rungEncoder{rung: r, spec: spec, dir: dir, enc: enc, pkt: astiav.AllocPacket(), out: out, codec: codec, encoderName: encoderName,
		thumbnails: thumbnails, forcedSeg: -1, segIndex: -1,
		frames: make(chan rungFrame, rungQueue), done: make(chan struct{}), turns: turns, inline: spec.Threads == 1}
	if re.inline {
		close(re.done)
	} else {
		go re.loop()
	}
	return re, nil
}

// openRung opens the encoder of a rung's codec family, and returns it with
// the rung's CODECS string when the encoder knows it before the first
// packet (AV1; H.264's comes from the first IDR's SPS) and the encoder's
// name.
func openRung(r media.Rung, set media.VideoSettings, fps astiav.Rational, midStream bool) (*astiav.CodecContext, string, string, error) {
	if r.Codec != media.CodecAV1 {
		enc, err := openH264(set.H264, r.Width, r.Height, r.MaxBitrate, fps, midStream)
		return enc, "", set.H264.Encoder, err
	}
	if set.Segments.OrTS() != media.SegmentsFMP4 {
		return nil, "", "", fmt.Errorf("rung %s: %w", r.Name, media.ErrAV1NeedsFMP4)
	}
	if r.AV1 == nil {
		return nil, "", "", fmt.Errorf("rung %s: AV1 rung without AV1 settings", r.Name)
	}
	enc, codec, err := openAV1(*r.AV1, r.Width, r.Height, r.MaxBitrate, fps)
	return enc, codec, media.EncoderSVTAV1, err
}

// rungPixelFormat is the frame format the rung's encoder takes.
func rungPixelFormat(r media.Rung, h264Encoder string) astiav.PixelFormat {
	if r.Codec == media.CodecAV1 {
		return astiav.PixelFormatYuv420P
	}
	return pixelFormat(h264Encoder)
}

// rungQueue bounds the frames waiting for a rung's encoder.
const rungQueue = 4

type rungFrame struct {
	f   *astiav.Frame
	seg int
}

// loop encodes the rung's frames on a goroutine of its own, so that the
// rungs of one chunk use every core even when there are fewer chunks than
// workers (short videos, the last chunks of a long one).
func (r *rungEncoder) loop() {
	defer close(r.done)
	for rf := range r.frames {
		if r.err == nil {
			r.takeTurn()
			r.err = r.encode(rf.f, rf.seg)
			r.endTurn()
			if r.err != nil {
				r.failed.Store(true)
			}
		}
		rf.f.Free()
	}
	if r.err == nil {
		r.takeTurn()
		r.err = r.flush()
		r.endTurn()
	}
}

// takeTurn waits until fewer than ChunkSpec.Threads rungs are encoding.
func (r *rungEncoder) takeTurn() {
	if r.turns != nil {
		r.turns <- struct{}{}
	}
}

func (r *rungEncoder) endTurn() {
	if r.turns != nil {
		<-r.turns
	}
}

// submit queues a reference to a filtered frame for the rung's encoder.
func (r *rungEncoder) submit(f *astiav.Frame, seg int) error {
	if r.inline {
		if r.err == nil {
			r.err = r.encode(f, seg)
		}
		return r.err
	}
	if r.failed.Load() {
		return r.finish()
	}
	c := f.Clone()
	if c == nil {
		return errors.New("clone frame: out of memory")
	}
	r.frames <- rungFrame{f: c, seg: seg}
	return nil
}

// finish waits until every queued frame is encoded and the encoder flushed.
func (r *rungEncoder) finish() error {
	if r.inline {
		if !r.closed && r.err == nil {
			r.err = r.flush()
		}
		r.closed = true
		return r.err
	}
	if !r.closed {
		r.closed = true
		close(r.frames)
	}
	<-r.done
	return r.err
}

// encode sends one filtered frame (pts in OutputTimeBase) that belongs to
// segment seg, forcing an IDR on the first frame of every segment.
func (r *rungEncoder) encode(f *astiav.Frame, seg int) error {
	f.SetPictureType(astiav.PictureTypeNone)
	if seg != r.forcedSeg {
		f.SetPictureType(astiav.PictureTypeI)
		r.forcedSeg = seg
	}
	if err := r.enc.SendFrame(f); err != nil {
		return fmt.Errorf("encode %s: %w", r.rung.Name, err)
	}
	r.fed = true
	return r.drain(seg)
}

func (r *rungEncoder) flush() error {
	if err := r.enc.SendFrame(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("flush %s: %w", r.rung.Name, err)
	}
	if err := r.drain(-1); err != nil {
		return err
	}
	return r.finishSegment()
}

// drain muxes the packets the encoder has ready. A keyframe opens the next
// segment: IDRs are forced exactly at segment starts and GOPs are closed, so
// every packet between two segment IDRs belongs to the first one.
func (r *rungEncoder) drain(latestSeg int) error {
	for {
		err := r.enc.ReceivePacket(r.pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encode %s: %w", r.rung.Name, err)
		}
		err = r.mux(r.pkt)
		r.pkt.Unref()
		if err != nil {
			return err
		}
	}
}

func (r *rungEncoder) mux(pkt *astiav.Packet) error {
	key := pkt.Flags().Has(astiav.PacketFlagKey)
	if key {
		if r.codec == "" {
			if c, err := hls.AVCCodecString(pkt.Data()); err == nil {
				r.codec = c
			}
		}
		if seg := r.segmentOfOutput(pkt.Pts()); seg != r.segIndex {
			if err := r.finishSegment(); err != nil {
				return err
			}
			w, path, err := r.out.open(seg, r.enc)
			if err != nil {
				return err
			}
			r.seg, r.segPath, r.segIndex = w, path, seg
		}
	}
	if r.seg == nil {
		return fmt.Errorf("encode %s: first packet is not a keyframe", r.rung.Name)
	}
	return r.seg.write(pkt)
}

// segmentOfOutput maps an output timestamp back to its segment.
func (r *rungEncoder) segmentOfOutput(pts int64) int {
	tb := astiav.NewRational(r.spec.TimeBase.Num, r.spec.TimeBase.Den)
	i := 0
	for i+1 < len(r.spec.Boundaries) &&
		pts >= TimelineOffset+astiav.RescaleQ(r.spec.Boundaries[i+1]-r.spec.OriginPTS, tb, OutputTimeBase) {
		i++
	}
	return r.spec.Chunk.FirstSegment + i
}

func (r *rungEncoder) finishSegment() error {
	if r.seg == nil {
		return nil
	}
	size, err := r.seg.finish()
	if err != nil {
		return err
	}
	r.files = append(r.files, media.SegmentFile{Index: r.segIndex,
		File: filepath.Join(r.rung.Name, filepath.Base(r.segPath)), Bytes: size})
	r.seg = nil
	return nil
}

func (r *rungEncoder) close() {
	_ = r.finish()
	if r.seg != nil {
		r.seg.abort()
	}
	if r.rung.Codec == media.CodecAV1 {
		freeAV1(r.enc, r.fed)
	} else {
		r.enc.Free()
	}
	r.pkt.Free()
}

// frameImage copies a yuv420p frame into a Go image. (go-astiav v0.16's
// ToImage reads past the end of 4:2:0 chroma planes.)
func frameImage(f *astiav.Frame) (image.Image, error) {
	if f.PixelFormat() != astiav.PixelFormatYuv420P {
		return nil, fmt.Errorf("pixel format %s has no Go image", f.PixelFormat().Name())
	}
	b, err := f.Data().Bytes(1)
	if err != nil {
		return nil, fmt.Errorf("copy frame: %w", err)
	}
	w, h := f.Width(), f.Height()
	cw, ch := (w+1)/2, (h+1)/2
	if len(b) < w*h+2*cw*ch {
		return nil, fmt.Errorf("copy frame: %d bytes for %dx%d", len(b), w, h)
	}
	return &image.YCbCr{
		Y: b[:w*h], Cb: b[w*h : w*h+cw*ch], Cr: b[w*h+cw*ch : w*h+2*cw*ch],
		YStride: w, CStride: cw, SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect: image.Rect(0, 0, w, h),
	}, nil
}
