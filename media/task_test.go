package media

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestStitchSpecForwardsResultsAsRecorded(t *testing.T) {
	chunk0 := json.RawMessage(`{"index":0,"thumbnails":[{"time":0,"file":"thumbs/c0_a1_0.jpg"}],"poster":{"time":1,"file":"thumbs/c0_a1_p.jpg"},"fieldOfANewerAgent":true}`)
	spec := StitchSpec{
		Split:  json.RawMessage(`{"probe":{"durationSeconds":8},"chunks":[{},{},{}]}`),
		Chunks: []json.RawMessage{chunk0, nil, json.RawMessage(`null`)},
		Audio:  json.RawMessage(`{"codec":"mp4a.40.2","speech":{"file":"audio/a1_16k.wav"}}`),
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var back StitchSpec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	// The spec travels to the agent with the results byte for byte, fields
	// the coordinator does not know included.
	if string(back.Chunks[0]) != string(chunk0) {
		t.Errorf("chunk 0 forwarded as %s, want %s", back.Chunks[0], chunk0)
	}
	res, err := back.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if res.Split.Probe.Duration != 8 || res.Chunks[0] == nil || res.Chunks[1] != nil || res.Chunks[2] != nil || res.Audio == nil {
		t.Errorf("decoded split %+v chunks %v audio %v; want chunk 0 only, and the audio", res.Split.Probe, res.Chunks, res.Audio)
	}
	want := []string{"thumbs/c0_a1_0.jpg", "thumbs/c0_a1_p.jpg", "audio/a1_16k.wav"}
	if got := res.Inputs(); !slices.Equal(got, want) {
		t.Errorf("Inputs() = %v, want %v", got, want)
	}
	if _, err := (StitchSpec{}).Decode(); err == nil {
		t.Error("Decode of a spec without a split result succeeded, want an error")
	}
}
