package encoder

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// The few ISO BMFF (MP4) boxes fMP4 output needs read or patched: libav
// writes the fragments, these helpers split them into init and media
// segments and put them on the global timeline.

// mp4Box is one box of a buffer: its type and where it lies.
type mp4Box struct {
	typ        string
	start, end int // the whole box, header included
	body       int // first byte after the header
}

var errBadBox = errors.New("malformed mp4 box")

// mp4Boxes lists the boxes that tile b[start:end].
func mp4Boxes(b []byte, start, end int) ([]mp4Box, error) {
	var out []mp4Box
	for off := start; off < end; {
		if end-off < 8 {
			return nil, fmt.Errorf("%w: %d stray bytes at %d", errBadBox, end-off, off)
		}
		size, body := int(binary.BigEndian.Uint32(b[off:])), off+8
		switch size {
		case 1:
			if end-off < 16 {
				return nil, fmt.Errorf("%w: truncated large size at %d", errBadBox, off)
			}
			size, body = int(binary.BigEndian.Uint64(b[off+8:])), off+16
		case 0:
			size = end - off // extends to the end
		}
		if size < body-off || off+size > end {
			return nil, fmt.Errorf("%w: size %d at %d", errBadBox, size, off)
		}
		out = append(out, mp4Box{typ: string(b[off+4 : off+8]), start: off, end: off + size, body: body})
		off += size
	}
	return out, nil
}

// mp4Find returns the first box found by following path from the top level
// of b (container boxes only on the way), or false.
func mp4Find(b []byte, path ...string) (mp4Box, bool) {
	start, end := 0, len(b)
	var found mp4Box
	for _, typ := range path {
		boxes, err := mp4Boxes(b, start, end)
		if err != nil {
			return mp4Box{}, false
		}
		ok := false
		for _, bx := range boxes {
			if bx.typ == typ {
				found, ok = bx, true
				break
			}
		}
		if !ok {
			return mp4Box{}, false
		}
		start, end = found.body, found.end
	}
	return found, true
}

// splitFragmentedMP4 cuts a fragmented MP4 file as libav's mp4 muxer writes
// it (ftyp, moov, moof+mdat pairs, an optional mfra index) into its init
// segment and its media segment (the fragments, without the index).
func splitFragmentedMP4(b []byte) (init, media []byte, err error) {
	boxes, err := mp4Boxes(b, 0, len(b))
	if err != nil {
		return nil, nil, err
	}
	first, last := -1, -1
	for _, bx := range boxes {
		switch bx.typ {
		case "moof", "mdat":
			if first < 0 {
				first = bx.start
			}
			last = bx.end
		}
	}
	if first < 0 {
		return nil, nil, fmt.Errorf("%w: no fragment", errBadBox)
	}
	if _, ok := mp4Find(b[:first], "moov"); !ok {
		return nil, nil, fmt.Errorf("%w: no moov before the first fragment", errBadBox)
	}
	return b[:first], b[first:last], nil
}

// initTimescale is the media timescale of the (only) track of an init segment.
func initTimescale(init []byte) (uint32, error) {
	mdhd, ok := mp4Find(init, "moov", "trak", "mdia", "mdhd")
	if !ok || mdhd.end-mdhd.body < 24 {
		return 0, fmt.Errorf("%w: no mdhd", errBadBox)
	}
	// version 1 has 64-bit creation and modification times before it.
	off := mdhd.body + 4 + 8
	if init[mdhd.body] == 1 {
		off = mdhd.body + 4 + 16
	}
	if off+4 > mdhd.end {
		return 0, fmt.Errorf("%w: short mdhd", errBadBox)
	}
	return binary.BigEndian.Uint32(init[off:]), nil
}

// initConfig identifies the sample description of an init segment's track:
// the codec configuration (avcC, esds) and the picture or sample format.
func initConfig(init []byte) (string, error) {
	stsd, ok := mp4Find(init, "moov", "trak", "mdia", "minf", "stbl", "stsd")
	if !ok {
		return "", fmt.Errorf("%w: no stsd", errBadBox)
	}
	sum := sha256.Sum256(init[stsd.start:stsd.end])
	return hex.EncodeToString(sum[:16]), nil
}

// Fragment describes one moof of a media segment.
type Fragment struct {
	Sequence uint32 // mfhd sequence number
	// BaseDecodeTime is the tfdt, in the track's timescale.
	BaseDecodeTime uint64
	// Duration is the sum of the sample durations.
	Duration uint64
	// FirstCompositionOffset is the first sample's composition time offset
	// (its presentation time minus BaseDecodeTime).
	FirstCompositionOffset int64
	Samples                int
}

// ReadFragments parses the moof boxes of a media segment.
func ReadFragments(b []byte) ([]Fragment, error) {
	boxes, err := mp4Boxes(b, 0, len(b))
	if err != nil {
		return nil, err
	}
	var out []Fragment
	for _, moof := range boxes {
		if moof.typ != "moof" {
			continue
		}
		f, err := readFragment(b[moof.start:moof.end])
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no moof", errBadBox)
	}
	return out, nil
}

func readFragment(moof []byte) (Fragment, error) {
	var f Fragment
	mfhd, ok := mp4Find(moof, "moof", "mfhd")
	if !ok || mfhd.end-mfhd.body < 8 {
		return f, fmt.Errorf("%w: no mfhd", errBadBox)
	}
	f.Sequence = binary.BigEndian.Uint32(moof[mfhd.body+4:])
	tfdt, ok := mp4Find(moof, "moof", "traf", "tfdt")
	if !ok {
		return f, fmt.Errorf("%w: no tfdt", errBadBox)
	}
	var err error
	if f.BaseDecodeTime, err = tfdtValue(moof, tfdt); err != nil {
		return f, err
	}
	tfhd, ok := mp4Find(moof, "moof", "traf", "tfhd")
	if !ok {
		return f, fmt.Errorf("%w: no tfhd", errBadBox)
	}
	defaultDuration, err := tfhdDefaultDuration(moof, tfhd)
	if err != nil {
		return f, err
	}
	trun, ok := mp4Find(moof, "moof", "traf", "trun")
	if !ok {
		return f, fmt.Errorf("%w: no trun", errBadBox)
	}
	return f, readTrun(moof[trun.body:trun.end], defaultDuration, &f)
}

// tfdtValue reads a tfdt box's base media decode time (32 or 64 bits).
func tfdtValue(b []byte, tfdt mp4Box) (uint64, error) {
	if tfdt.end-tfdt.body < 8 {
		return 0, fmt.Errorf("%w: short tfdt", errBadBox)
	}
	if b[tfdt.body] == 1 {
		if tfdt.end-tfdt.body < 12 {
			return 0, fmt.Errorf("%w: short tfdt", errBadBox)
		}
		return binary.BigEndian.Uint64(b[tfdt.body+4:]), nil
	}
	return uint64(binary.BigEndian.Uint32(b[tfdt.body+4:])), nil
}

// tfhd flags (ISO/IEC 14496-12, 8.8.7).
const (
	tfhdBaseDataOffset     = 0x1
	tfhdSampleDescIndex    = 0x2
	tfhdHasDefaultDuration = 0x8
)

func tfhdDefaultDuration(b []byte, tfhd mp4Box) (uint32, error) {
	body := b[tfhd.body:tfhd.end]
	if len(body) < 8 {
		return 0, fmt.Errorf("%w: short tfhd", errBadBox)
	}
	flags := binary.BigEndian.Uint32(body) & 0xffffff
	off := 8 // version+flags, track ID
	if flags&tfhdBaseDataOffset != 0 {
		off += 8
	}
	if flags&tfhdSampleDescIndex != 0 {
		off += 4
	}
	if flags&tfhdHasDefaultDuration == 0 {
		return 0, nil
	}
	if off+4 > len(body) {
		return 0, fmt.Errorf("%w: short tfhd", errBadBox)
	}
	return binary.BigEndian.Uint32(body[off:]), nil
}

// trun flags (ISO/IEC 14496-12, 8.8.8).
const (
	trunDataOffset       = 0x1
	trunFirstSampleFlags = 0x4
	trunDuration         = 0x100
	trunSize             = 0x200
	trunFlags            = 0x400
	trunCompositionTime  = 0x800
)

// readTrun adds a trun's samples and durations to f.
func readTrun(body []byte, defaultDuration uint32, f *Fragment) error {
	if len(body) < 8 {
		return fmt.Errorf("%w: short trun", errBadBox)
	}
	version, flags := body[0], binary.BigEndian.Uint32(body)&0xffffff
	count := int(binary.BigEndian.Uint32(body[4:]))
	off := 8
	if flags&trunDataOffset != 0 {
		off += 4
	}
	if flags&trunFirstSampleFlags != 0 {
		off += 4
	}
	per := 0
	for _, bit := range []uint32{trunDuration, trunSize, trunFlags, trunCompositionTime} {
		if flags&bit != 0 {
			per += 4
		}
	}
	if off+count*per > len(body) {
		return fmt.Errorf("%w: trun of %d samples is short", errBadBox, count)
	}
	first := f.Samples == 0
	for range count {
		p := off
		d := defaultDuration
		if flags&trunDuration != 0 {
			d = binary.BigEndian.Uint32(body[p:])
			p += 4
		}
		f.Duration += uint64(d)
		if flags&trunSize != 0 {
			p += 4
		}
		if flags&trunFlags != 0 {
			p += 4
		}
		if flags&trunCompositionTime != 0 && first {
			cto := binary.BigEndian.Uint32(body[p:])
			f.FirstCompositionOffset = int64(cto)
			if version == 1 {
				f.FirstCompositionOffset = int64(int32(cto))
			}
		}
		first = false
		off += per
	}
	f.Samples += count
	return nil
}

// placeFragments rewrites the media segment b in place so that it sits on
// the global timeline: the first fragment's tfdt becomes decodeTime (the
// later ones keep their distance to it) and the fragments are numbered from
// sequence on. libav's muxer numbers and times each segment as if it were
// a file of its own.
func placeFragments(b []byte, sequence uint32, decodeTime uint64) error {
	boxes, err := mp4Boxes(b, 0, len(b))
	if err != nil {
		return err
	}
	var shift uint64
	seen := false
	for _, moof := range boxes {
		if moof.typ != "moof" {
			continue
		}
		m := b[moof.start:moof.end]
		mfhd, ok := mp4Find(m, "moof", "mfhd")
		if !ok || mfhd.end-mfhd.body < 8 {
			return fmt.Errorf("%w: no mfhd", errBadBox)
		}
		binary.BigEndian.PutUint32(m[mfhd.body+4:], sequence)
		sequence++
		tfdt, ok := mp4Find(m, "moof", "traf", "tfdt")
		if !ok {
			return fmt.Errorf("%w: no tfdt", errBadBox)
		}
		old, err := tfdtValue(m, tfdt)
		if err != nil {
			return err
		}
		if !seen {
			shift, seen = decodeTime-old, true
		}
		t := old + shift
		if m[tfdt.body] == 1 {
			binary.BigEndian.PutUint64(m[tfdt.body+4:], t)
		} else if t > 0xffffffff {
			return fmt.Errorf("%w: decode time %d does not fit a version 0 tfdt", errBadBox, t)
		} else {
			binary.BigEndian.PutUint32(m[tfdt.body+4:], uint32(t))
		}
	}
	if !seen {
		return fmt.Errorf("%w: no moof", errBadBox)
	}
	return nil
}
