package encoder

import (
	"encoding/binary"
	"errors"
	"testing"
)

// box builds an MP4 box; full boxes get their version and flags in body.
func box(typ string, body ...[]byte) []byte {
	n := 8
	for _, b := range body {
		n += len(b)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(n))
	out = append(out, typ...)
	for _, b := range body {
		out = append(out, b...)
	}
	return out
}

func u32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// fragment is a moof as libav writes it for one track: a tfhd with a
// default duration, a version 1 tfdt, and a trun with sizes and
// composition offsets, the first of them cto.
func fragment(seq uint32, tfdt uint64, samples int, cto uint32) []byte {
	trun := u32(1<<24|trunDataOffset|trunSize|trunCompositionTime, uint32(samples), 0)
	for i := range samples {
		c := uint32(3000)
		if i == 0 {
			c = cto
		}
		trun = append(trun, u32(100, c)...)
	}
	return box("moof",
		box("mfhd", u32(0, seq)),
		box("traf",
			box("tfhd", u32(tfhdHasDefaultDuration, 1, 3000)),
			box("tfdt", u32(1<<24), binary.BigEndian.AppendUint64(nil, tfdt)),
			box("trun", trun)))
}

func TestPlaceFragments(t *testing.T) {
	seg := append(fragment(1, 0, 50, 0), box("mdat", make([]byte, 16))...)
	seg = append(seg, fragment(2, 150000, 10, 0)...)
	if err := placeFragments(seg, 8, 900000); err != nil {
		t.Fatal(err)
	}
	frags, err := ReadFragments(seg)
	if err != nil {
		t.Fatal(err)
	}
	want := []Fragment{
		{Sequence: 8, BaseDecodeTime: 900000, Duration: 150000, Samples: 50},
		{Sequence: 9, BaseDecodeTime: 1050000, Duration: 30000, Samples: 10},
	}
	if len(frags) != len(want) {
		t.Fatalf("got %d fragments, want %d", len(frags), len(want))
	}
	for i := range want {
		if frags[i] != want[i] {
			t.Errorf("fragment %d got %+v, want %+v", i, frags[i], want[i])
		}
	}
}

func TestReadFragmentsCompositionOffset(t *testing.T) {
	frags, err := ReadFragments(fragment(3, 84000, 4, 6000))
	if err != nil {
		t.Fatal(err)
	}
	if got := frags[0].FirstCompositionOffset; got != 6000 {
		t.Errorf("first composition offset %d, want 6000", got)
	}
}

func TestSplitFragmentedMP4(t *testing.T) {
	ftyp := box("ftyp", []byte("cmfc"), u32(0))
	moov := box("moov", box("mvhd", make([]byte, 100)))
	frag := append(fragment(1, 0, 1, 0), box("mdat", []byte("x"))...)
	mfra := box("mfra", make([]byte, 8))
	file := append(append(append(append([]byte{}, ftyp...), moov...), frag...), mfra...)
	init, media, err := splitFragmentedMP4(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(init) != len(ftyp)+len(moov) || len(media) != len(frag) {
		t.Errorf("init %d bytes, media %d; want %d and %d (no mfra)", len(init), len(media), len(ftyp)+len(moov), len(frag))
	}
	for name, in := range map[string][]byte{
		"no fragment":     append(append([]byte{}, ftyp...), moov...),
		"no moov":         append(append([]byte{}, ftyp...), frag...),
		"truncated box":   file[:len(file)-3],
		"size below head": append(u32(4), "free"...),
	} {
		if _, _, err := splitFragmentedMP4(in); !errors.Is(err, errBadBox) {
			t.Errorf("%s: error %v, want errBadBox", name, err)
		}
	}
}
