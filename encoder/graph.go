package encoder

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
)

// filterGraph is a libavfilter graph with one source and one or more sinks,
// described in libavfilter's syntax with the pads [in] and [out0]…[outN].
type filterGraph struct {
	g     *astiav.FilterGraph
	src   *astiav.FilterContext
	sinks []*astiav.FilterContext
}

func newFilterGraph(audio bool, srcArgs astiav.FilterArgs, desc string, sinks int) (*filterGraph, error) {
	srcName, sinkName := "buffer", "buffersink"
	if audio {
		srcName, sinkName = "abuffer", "abuffersink"
	}
	fg := &filterGraph{g: astiav.AllocFilterGraph()}
	if fg.g == nil {
		return nil, errors.New("allocate filter graph")
	}
	// Parallelism comes from encoding chunks side by side, not from
	// threads inside one graph.
	fg.g.SetThreadCount(1)
	var err error
	if fg.src, err = fg.g.NewFilterContext(astiav.FindFilterByName(srcName), "in", srcArgs); err != nil {
		fg.free()
		return nil, fmt.Errorf("create filter source: %w", err)
	}
	outputs := astiav.AllocFilterInOut()
	defer outputs.Free()
	outputs.SetName("in")
	outputs.SetFilterContext(fg.src)
	outputs.SetPadIdx(0)
	outputs.SetNext(nil)

	var head, prev *astiav.FilterInOut
	for i := 0; i < sinks; i++ {
		sink, err := fg.g.NewFilterContext(astiav.FindFilterByName(sinkName), fmt.Sprintf("out%d", i), nil)
		if err != nil {
			fg.free()
			return nil, fmt.Errorf("create filter sink: %w", err)
		}
		fg.sinks = append(fg.sinks, sink)
		io := astiav.AllocFilterInOut()
		io.SetName(fmt.Sprintf("out%d", i))
		io.SetFilterContext(sink)
		io.SetPadIdx(0)
		io.SetNext(nil)
		if prev == nil {
			head = io
		} else {
			prev.SetNext(io)
		}
		prev = io
	}
	// Freeing the head frees whatever Parse leaves of the list.
	defer head.Free()
	if err := fg.g.Parse(desc, head, outputs); err != nil {
		fg.free()
		return nil, fmt.Errorf("parse filter graph %q: %w", desc, err)
	}
	if err := fg.g.Configure(); err != nil {
		fg.free()
		return nil, fmt.Errorf("configure filter graph %q: %w", desc, err)
	}
	return fg, nil
}

// push sends a frame into the graph; nil signals the end of the stream.
func (fg *filterGraph) push(f *astiav.Frame) error {
	if err := fg.src.BuffersrcAddFrame(f, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
		return fmt.Errorf("filter frame: %w", err)
	}
	return nil
}

// pull drains sink i, calling fn for each frame it has ready. fn must not
// keep the frame past its return.
func (fg *filterGraph) pull(i int, f *astiav.Frame, fn func(*astiav.Frame) error) error {
	for {
		if err := fg.sinks[i].BuffersinkGetFrame(f, astiav.NewBuffersinkFlags()); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			return fmt.Errorf("read filtered frame: %w", err)
		}
		err := fn(f)
		f.Unref()
		if err != nil {
			return err
		}
	}
}

func (fg *filterGraph) free() {
	if fg.g != nil {
		fg.g.Free()
		fg.g = nil
	}
}
