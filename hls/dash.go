package hls

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A DASH manifest (ISO/IEC 23009-1 MPD) for a CMAF ladder: the same init
// and media segments the HLS playlists list, described per representation
// by a SegmentList with a SegmentTimeline, since the segment files carry
// their chunk and attempt in their names and no $Number$ template fits
// them.

// DASHManifest is a one-period MPD.
type DASHManifest struct {
	// Dynamic writes a growing (type="dynamic") manifest that players
	// reload every MinimumUpdatePeriod while the job encodes; the final one
	// is static with the duration.
	Dynamic bool
	// Duration is the presentation's length in seconds (static only).
	Duration float64
	// MinimumUpdatePeriod is how often, in seconds, players reload a
	// dynamic manifest.
	MinimumUpdatePeriod float64
	// Sets are the adaptation sets: one per video codec family, the audio.
	Sets []DASHAdaptationSet
}

// DASHAdaptationSet is a set of switchable representations.
type DASHAdaptationSet struct {
	ContentType string // "video", "audio" or "text"
	MimeType    string // "video/mp4", "audio/mp4", "text/vtt"
	// Lang (BCP 47), Label (what players show in their menu) and Role (a
	// value of the urn:mpeg:dash:role:2011 scheme, such as "subtitle")
	// describe a caption track; "" leaves them out.
	Lang            string
	Label           string
	Role            string
	Representations []DASHRepresentation
}

// DASHRepresentation is one rung or the audio track.
type DASHRepresentation struct {
	ID        string
	Codecs    string
	Bandwidth int64
	Width     int
	Height    int
	FrameRate float64
	// SampleRate and Channels describe audio.
	SampleRate int
	Channels   int
	// Timescale is the track's (the init segment's mdhd) and the unit of
	// PresentationTimeOffset and the segments' times.
	Timescale uint32
	// PresentationTimeOffset is the media time that is time zero of the period.
	PresentationTimeOffset uint64
	// Init and the segments' URIs are relative to the manifest.
	Init     string
	Segments []DASHSegment
	// BaseURL is the one file of a representation that has no segments: a
	// WebVTT caption track, which players fetch whole (a sidecar file).
	BaseURL string
}

// DASHSegment is one media segment: its earliest presentation time and
// duration in the representation's timescale.
type DASHSegment struct {
	URI      string
	Time     uint64
	Duration uint64
}

// Marshal writes the manifest as XML.
func (m *DASHManifest) Marshal() ([]byte, error) {
	doc := mpdXML{
		XMLNS:         "urn:mpeg:dash:schema:mpd:2011",
		Profiles:      "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019",
		Type:          "static",
		MinBufferTime: isoDuration(2),
	}
	if m.Dynamic {
		doc.Type = "dynamic"
		// The segments' times count from the start of the video, which the
		// manifest places at the epoch: nothing about it is live, and
		// players reach every segment listed through the time-shift buffer.
		doc.AvailabilityStartTime = "1970-01-01T00:00:00Z"
		doc.MinimumUpdatePeriod = isoDuration(m.MinimumUpdatePeriod)
		doc.TimeShiftBufferDepth = isoDuration(math.Max(m.Duration, 24*3600))
	} else {
		doc.MediaPresentationDuration = isoDuration(m.Duration)
	}
	period := periodXML{ID: "0", Start: isoDuration(0)}
	for i, s := range m.Sets {
		period.Sets = append(period.Sets, adaptationSet(i, s))
	}
	doc.Periods = []periodXML{period}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dash manifest: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// roleScheme is the scheme of the Role descriptors of ISO/IEC 23009-1.
const roleScheme = "urn:mpeg:dash:role:2011"

// adaptationSet is the XML of the set s, the id-th of its period.
func adaptationSet(id int, s DASHAdaptationSet) adaptationSetXML {
	set := adaptationSetXML{ID: strconv.Itoa(id), ContentType: s.ContentType, MimeType: s.MimeType, Lang: s.Lang, Label: s.Label}
	if s.Role != "" {
		set.Role = &descriptorXML{Scheme: roleScheme, Value: s.Role}
	}
	for _, r := range s.Representations {
		rep := representationXML{ID: r.ID, Codecs: r.Codecs, Bandwidth: r.Bandwidth, BaseURL: r.BaseURL}
		if r.Width > 0 {
			rep.Width, rep.Height = strconv.Itoa(r.Width), strconv.Itoa(r.Height)
			rep.SAR = "1:1"
		}
		if r.FrameRate > 0 {
			rep.FrameRate = frameRate(r.FrameRate)
		}
		if r.SampleRate > 0 {
			rep.AudioSamplingRate = strconv.Itoa(r.SampleRate)
		}
		if r.Channels > 0 {
			rep.Channels = []descriptorXML{{Scheme: "urn:mpeg:dash:23003:3:audio_channel_configuration:2011", Value: strconv.Itoa(r.Channels)}}
		}
		if r.BaseURL == "" {
			// Segmented media: every set of it starts each segment on a
			// keyframe at the same time in every representation.
			set.SegmentAlignment, set.StartWithSAP = "true", "1"
			list := &segmentListXML{Timescale: r.Timescale, PresentationTimeOffset: r.PresentationTimeOffset,
				Initialization: &urlXML{SourceURL: r.Init}, Timeline: &timelineXML{}}
			for _, seg := range r.Segments {
				list.Timeline.S = append(list.Timeline.S, sXML{T: seg.Time, D: seg.Duration})
				list.URLs = append(list.URLs, segmentURLXML{Media: seg.URI})
			}
			rep.SegmentList = list
		}
		set.Representations = append(set.Representations, rep)
	}
	return set
}

// ParseDASHManifest reads back what Marshal writes: for each adaptation
// set, each representation's init and segments. Tests and tools use it.
func ParseDASHManifest(b []byte) (*DASHManifest, error) {
	var doc mpdXML
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("dash manifest: %w", err)
	}
	if len(doc.Periods) != 1 {
		return nil, fmt.Errorf("dash manifest: %d periods, want 1", len(doc.Periods))
	}
	m := &DASHManifest{Dynamic: doc.Type == "dynamic"}
	var err error
	if !m.Dynamic {
		if m.Duration, err = parseISODuration(doc.MediaPresentationDuration); err != nil {
			return nil, err
		}
	}
	for _, s := range doc.Periods[0].Sets {
		set := DASHAdaptationSet{ContentType: s.ContentType, MimeType: s.MimeType, Lang: s.Lang, Label: s.Label}
		if s.Role != nil {
			set.Role = s.Role.Value
		}
		for _, r := range s.Representations {
			rep := DASHRepresentation{ID: r.ID, Codecs: r.Codecs, Bandwidth: r.Bandwidth, BaseURL: r.BaseURL}
			if r.BaseURL != "" && r.SegmentList == nil {
				set.Representations = append(set.Representations, rep)
				continue
			}
			l := r.SegmentList
			if l == nil || l.Initialization == nil || l.Timeline == nil || len(l.Timeline.S) != len(l.URLs) {
				return nil, fmt.Errorf("dash manifest: representation %q has no SegmentList of one S per SegmentURL", r.ID)
			}
			rep.Timescale, rep.PresentationTimeOffset, rep.Init = l.Timescale, l.PresentationTimeOffset, l.Initialization.SourceURL
			for i, sx := range l.Timeline.S {
				rep.Segments = append(rep.Segments, DASHSegment{URI: l.URLs[i].Media, Time: sx.T, Duration: sx.D})
			}
			set.Representations = append(set.Representations, rep)
		}
		m.Sets = append(m.Sets, set)
	}
	return m, nil
}

// isoDuration writes seconds as an xs:duration (PT1.5S).
func isoDuration(seconds float64) string {
	return "PT" + strconv.FormatFloat(math.Round(seconds*1000)/1000, 'f', -1, 64) + "S"
}

func parseISODuration(s string) (float64, error) {
	v, ok := strings.CutPrefix(s, "PT")
	if !ok || !strings.HasSuffix(v, "S") {
		return 0, fmt.Errorf("dash manifest: duration %q is not of the form PT…S", s)
	}
	return strconv.ParseFloat(strings.TrimSuffix(v, "S"), 64)
}

// frameRate writes a rate as DASH wants it: an integer, or a fraction for
// the NTSC rates.
func frameRate(fps float64) string {
	if r := math.Round(fps); math.Abs(fps-r) < 0.001 {
		return strconv.Itoa(int(r))
	}
	return strconv.Itoa(int(math.Round(fps*1001))) + "/1001"
}

type mpdXML struct {
	XMLName                   xml.Name    `xml:"MPD"`
	XMLNS                     string      `xml:"xmlns,attr"`
	Profiles                  string      `xml:"profiles,attr"`
	Type                      string      `xml:"type,attr"`
	MediaPresentationDuration string      `xml:"mediaPresentationDuration,attr,omitempty"`
	AvailabilityStartTime     string      `xml:"availabilityStartTime,attr,omitempty"`
	MinimumUpdatePeriod       string      `xml:"minimumUpdatePeriod,attr,omitempty"`
	TimeShiftBufferDepth      string      `xml:"timeShiftBufferDepth,attr,omitempty"`
	MinBufferTime             string      `xml:"minBufferTime,attr"`
	Periods                   []periodXML `xml:"Period"`
}

type periodXML struct {
	ID    string             `xml:"id,attr"`
	Start string             `xml:"start,attr"`
	Sets  []adaptationSetXML `xml:"AdaptationSet"`
}

type adaptationSetXML struct {
	XMLName          xml.Name            `xml:"AdaptationSet"`
	ID               string              `xml:"id,attr"`
	ContentType      string              `xml:"contentType,attr"`
	MimeType         string              `xml:"mimeType,attr"`
	Lang             string              `xml:"lang,attr,omitempty"`
	SegmentAlignment string              `xml:"segmentAlignment,attr,omitempty"`
	StartWithSAP     string              `xml:"startWithSAP,attr,omitempty"`
	Role             *descriptorXML      `xml:"Role"`
	Label            string              `xml:"Label,omitempty"`
	Representations  []representationXML `xml:"Representation"`
}

type descriptorXML struct {
	Scheme string `xml:"schemeIdUri,attr"`
	Value  string `xml:"value,attr"`
}

type representationXML struct {
	ID                string          `xml:"id,attr"`
	Codecs            string          `xml:"codecs,attr,omitempty"`
	Bandwidth         int64           `xml:"bandwidth,attr"`
	Width             string          `xml:"width,attr,omitempty"`
	Height            string          `xml:"height,attr,omitempty"`
	SAR               string          `xml:"sar,attr,omitempty"`
	FrameRate         string          `xml:"frameRate,attr,omitempty"`
	AudioSamplingRate string          `xml:"audioSamplingRate,attr,omitempty"`
	Channels          []descriptorXML `xml:"AudioChannelConfiguration"`
	BaseURL           string          `xml:"BaseURL,omitempty"`
	SegmentList       *segmentListXML `xml:"SegmentList"`
}

type segmentListXML struct {
	Timescale              uint32          `xml:"timescale,attr"`
	PresentationTimeOffset uint64          `xml:"presentationTimeOffset,attr"`
	Initialization         *urlXML         `xml:"Initialization"`
	Timeline               *timelineXML    `xml:"SegmentTimeline"`
	URLs                   []segmentURLXML `xml:"SegmentURL"`
}

type urlXML struct {
	SourceURL string `xml:"sourceURL,attr"`
}

type timelineXML struct {
	S []sXML `xml:"S"`
}

type sXML struct {
	T uint64 `xml:"t,attr"`
	D uint64 `xml:"d,attr"`
}

type segmentURLXML struct {
	Media string `xml:"media,attr"`
}

// dashURI finds the URIs of a manifest Marshal wrote: the init segment's
// sourceURL and each SegmentURL's media attribute, and the BaseURL element
// of a sidecar file.
var dashURI = regexp.MustCompile(`(sourceURL|media)="([^"]*)"|<BaseURL>([^<]*)</BaseURL>`)

// RewriteDASHURIs appends query (without "?") to every relative URI of a
// manifest Marshal wrote, as RewriteURIs does for playlists: the signed
// token of a private video's media.
func RewriteDASHURIs(body []byte, query string) []byte {
	return dashURI.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := dashURI.FindSubmatch(m)
		var uri strings.Builder
		if sub[1] == nil {
			_ = xml.EscapeText(&uri, []byte(withQuery(string(sub[3]), query)))
			return []byte("<BaseURL>" + uri.String() + "</BaseURL>")
		}
		_ = xml.EscapeText(&uri, []byte(withQuery(string(sub[2]), query)))
		return []byte(string(sub[1]) + `="` + uri.String() + `"`)
	})
}

// captionBandwidth is the bandwidth a caption track declares (the attribute
// is required): a few kilobytes of text over a video's length are a few
// hundred bits per second.
const captionBandwidth = 256

// AddDASHTextSets adds caption tracks to a manifest Marshal wrote, as
// AddSubtitleRenditions does to a master playlist: each track, a whole
// WebVTT file at its URI (relative to the manifest) whose cue times count
// from the start of the video, becomes a text adaptation set of its
// language, labelled with its name, after the manifest's other sets. The
// text is edited, not re-marshalled, so that what ParseDASHManifest does
// not model passes through.
func AddDASHTextSets(mpd []byte, tracks []SubtitleTrack) ([]byte, error) {
	end := bytes.LastIndex(mpd, []byte("</Period>"))
	if len(tracks) == 0 || end < 0 {
		return mpd, nil
	}
	// The sets go on the lines before the one that closes the period; their
	// ids, numbers unique in the period, follow those of the sets there.
	at := bytes.LastIndexByte(mpd[:end], '\n') + 1
	id := bytes.Count(mpd[:at], []byte("<AdaptationSet "))
	var sets bytes.Buffer
	for i, t := range tracks {
		set := adaptationSet(id+i, DASHAdaptationSet{ContentType: "text", MimeType: "text/vtt", Lang: t.Language,
			Label: t.Name, Role: "subtitle", Representations: []DASHRepresentation{
				{ID: "subs-" + t.Language, Bandwidth: captionBandwidth, BaseURL: t.URI},
			}})
		b, err := xml.MarshalIndent(set, "    ", "  ")
		if err != nil {
			return nil, fmt.Errorf("dash text set %s: %w", t.Language, err)
		}
		sets.Write(b)
		sets.WriteByte('\n')
	}
	return slices.Concat(mpd[:at], sets.Bytes(), mpd[at:]), nil
}
