package hls

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

func TestDASHManifestRoundTrip(t *testing.T) {
	video := DASHRepresentation{ID: "720p", Codecs: "avc1.64001f", Bandwidth: 3_000_000, Width: 1280, Height: 720,
		FrameRate: 29.97, Timescale: 90000, PresentationTimeOffset: 90000, Init: "720p/c00000_a1_init.mp4",
		Segments: []DASHSegment{
			{URI: "720p/c00000_a1_00000.m4s", Time: 90000, Duration: 360000},
			{URI: "720p/c00001_a2_00001.m4s", Time: 450000, Duration: 180000},
		}}
	audio := DASHRepresentation{ID: "audio", Codecs: "mp4a.40.2", Bandwidth: 130_000, SampleRate: 48000, Channels: 2,
		Timescale: 48000, PresentationTimeOffset: 48000, Init: "audio/a1_init.mp4",
		Segments: []DASHSegment{{URI: "audio/a1_00000.m4s", Time: 46976, Duration: 193024}}}
	for _, tt := range []struct {
		name     string
		in       DASHManifest
		wantType string
		wantAttr string
	}{
		{"static", DASHManifest{Duration: 6, Sets: []DASHAdaptationSet{
			{ContentType: "video", MimeType: "video/mp4", Representations: []DASHRepresentation{video}},
			{ContentType: "audio", MimeType: "audio/mp4", Representations: []DASHRepresentation{audio}},
		}}, "static", `mediaPresentationDuration="PT6S"`},
		{"dynamic", DASHManifest{Dynamic: true, MinimumUpdatePeriod: 4, Sets: []DASHAdaptationSet{
			{ContentType: "video", MimeType: "video/mp4", Representations: []DASHRepresentation{video}},
		}}, "dynamic", `minimumUpdatePeriod="PT4S"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.in.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			for _, want := range []string{`type="` + tt.wantType + `"`, tt.wantAttr, `frameRate="30000/1001"`,
				`<Initialization sourceURL="720p/c00000_a1_init.mp4">`, `<S t="450000" d="180000">`} {
				if !strings.Contains(text, want) {
					t.Errorf("manifest lacks %s:\n%s", want, text)
				}
			}
			if err := xml.Unmarshal(b, new(struct{})); err != nil {
				t.Fatalf("not XML: %v", err)
			}
			got, err := ParseDASHManifest(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got.Sets {
				for j := range got.Sets[i].Representations {
					want := tt.in.Sets[i].Representations[j]
					// What the segment list carries comes back; the
					// descriptive attributes are only written.
					want.Width, want.Height, want.FrameRate, want.SampleRate, want.Channels = 0, 0, 0, 0, 0
					if r := got.Sets[i].Representations[j]; !reflect.DeepEqual(r, want) {
						t.Errorf("representation got %+v, want %+v", r, want)
					}
				}
			}
			if got.Dynamic != tt.in.Dynamic || (!got.Dynamic && got.Duration != tt.in.Duration) {
				t.Errorf("got dynamic %v duration %v, want %v %v", got.Dynamic, got.Duration, tt.in.Dynamic, tt.in.Duration)
			}
		})
	}
}

func TestParseDASHManifestErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not XML":               "<MPD",
		"no period":             `<MPD type="static" mediaPresentationDuration="PT1S"></MPD>`,
		"bad duration":          `<MPD type="static" mediaPresentationDuration="1s"><Period/></MPD>`,
		"timeline without URLs": `<MPD type="static" mediaPresentationDuration="PT1S"><Period><AdaptationSet><Representation id="a"><SegmentList><Initialization sourceURL="i"/><SegmentTimeline><S t="0" d="1"/></SegmentTimeline></SegmentList></Representation></AdaptationSet></Period></MPD>`,
	} {
		if _, err := ParseDASHManifest([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRewriteDASHURIs(t *testing.T) {
	in := `<Initialization sourceURL="720p/c00000_a1_init.mp4"></Initialization>` +
		`<SegmentURL media="720p/c00000_a1_00000.m4s"></SegmentURL><SegmentURL media="https://cdn.example/x.m4s"></SegmentURL>` +
		`<Representation id="subs-de"><BaseURL>subs/de/captions.vtt</BaseURL></Representation>`
	want := `<Initialization sourceURL="720p/c00000_a1_init.mp4?token=a&amp;b"></Initialization>` +
		`<SegmentURL media="720p/c00000_a1_00000.m4s?token=a&amp;b"></SegmentURL><SegmentURL media="https://cdn.example/x.m4s"></SegmentURL>` +
		`<Representation id="subs-de"><BaseURL>subs/de/captions.vtt?token=a&amp;b</BaseURL></Representation>`
	if got := string(RewriteDASHURIs([]byte(in), "token=a&b")); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestAddDASHTextSets: caption tracks become text adaptation sets after the
// media, each with its language, label, subtitle role and the WebVTT file as
// its one URL, and the manifest stays one that reads back.
func TestAddDASHTextSets(t *testing.T) {
	m := DASHManifest{Duration: 6, Sets: []DASHAdaptationSet{
		{ContentType: "video", MimeType: "video/mp4", Representations: []DASHRepresentation{{ID: "360p", Codecs: "avc1.64001e",
			Timescale: 90000, Init: "360p/i.mp4", Segments: []DASHSegment{{URI: "360p/s.m4s", Duration: 540000}}}}},
		{ContentType: "audio", MimeType: "audio/mp4", Representations: []DASHRepresentation{{ID: "audio", Codecs: "mp4a.40.2",
			Timescale: 48000, Init: "audio/i.mp4", Segments: []DASHSegment{{URI: "audio/s.m4s", Duration: 288000}}}}},
	}}
	body, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := AddDASHTextSets(body, nil); err != nil || string(got) != string(body) {
		t.Errorf("no tracks changed the manifest (%v):\n%s", err, got)
	}
	tracks := []SubtitleTrack{
		{Language: "de", Name: "Deutsch", URI: "subs/de/captions.vtt"},
		{Language: "pt-BR", Name: `Português "BR" & co`, URI: "subs/pt-BR/captions.vtt"},
	}
	out, err := AddDASHTextSets(body, tracks)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDASHManifest(out)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(got.Sets) != 4 || got.Sets[0].ContentType != "video" || got.Sets[1].ContentType != "audio" {
		t.Fatalf("sets %+v, want the video, the audio, then two text sets:\n%s", got.Sets, out)
	}
	for i, tr := range tracks {
		want := DASHAdaptationSet{ContentType: "text", MimeType: "text/vtt", Lang: tr.Language, Label: tr.Name, Role: "subtitle",
			Representations: []DASHRepresentation{{ID: "subs-" + tr.Language, Bandwidth: captionBandwidth, BaseURL: tr.URI}}}
		if s := got.Sets[2+i]; !reflect.DeepEqual(s, want) {
			t.Errorf("text set %d got %+v, want %+v", i, s, want)
		}
	}
	for _, want := range []string{`<AdaptationSet id="2" contentType="text" mimeType="text/vtt" lang="de">`,
		`<AdaptationSet id="3" contentType="text" mimeType="text/vtt" lang="pt-BR">`,
		`<Role schemeIdUri="urn:mpeg:dash:role:2011" value="subtitle"></Role>`,
		`<Label>Português &#34;BR&#34; &amp; co</Label>`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("manifest lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(string(out[strings.Index(string(out), `id="2"`):]), "segmentAlignment") {
		t.Errorf("a text set claims segment alignment:\n%s", out)
	}
}
