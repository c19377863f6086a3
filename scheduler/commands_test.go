package scheduler

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		typ     CommandType
		payload any
	}{
		{CmdRegisterAgent, &RegisterAgent{Info: AgentInfo{ID: "a1", Addr: "h:1", Slots: 2, Cores: 8, Encoders: []string{"libx264", "h264_nvenc"}, Version: "v1"}, Now: t0}},
		{CmdAgentDown, &AgentDown{ID: "a1", State: AgentDead, Now: t0}},
		{CmdSubmitJob, &SubmitJob{ID: "j1", Source: "s", Priority: 3, Encoder: "auto", Output: "o", SplitSpec: json.RawMessage(`{"a":1}`), SourceInput: "s", Now: t0}},
		{CmdLease, &Lease{Agent: "a1", Tasks: []string{"j1-split"}, Now: t0}},
		{CmdProgress, &Progress{Task: "t", Attempt: 2, FramesDone: 10, FramesTotal: 20, Now: t0}},
		{CmdComplete, &Complete{Task: "t", Attempt: 1, Result: json.RawMessage(`{"r":true}`), Outputs: []Object{{Name: "a.ts", Size: 3, SHA256: "ab"}}, NewTasks: plan("j1", 2), Rungs: rungs, Now: t0}},
		{CmdFail, &Fail{Task: "t", Attempt: 1, Error: "boom", Permanent: true, Now: t0}},
		{CmdCancelJob, &CancelJob{Job: "j1", Now: t0}},
		{CmdExpireAttempt, &ExpireAttempt{Task: "t", Attempt: 1, Reason: "lease expired", Now: t0}},
		{CmdSteal, &Steal{Thief: "a2", Task: "t", Victim: "a1", Attempt: 3, Encoder: "h264_nvenc", Now: t0}},
		{CmdLease, &Lease{Agent: "a1", Tasks: []string{"j1-e0", "j1-audio"}, Encoders: map[string]string{"j1-e0": "libx264"}, Now: t0}},
		{CmdPlayable, &Playable{Job: "j1", Now: t0}},
	}
	// Prefer is an optional field of NewTask.
	preferring := plan("j1", 2)
	preferring[0].Prefer = []string{"h264_nvenc", "h264_qsv"}
	tests = append(tests, struct {
		typ     CommandType
		payload any
	}{CmdComplete, &Complete{Task: "t", Attempt: 1, NewTasks: preferring, Rungs: rungs, Now: t0}})
	// Speculative is an optional field of Lease: absent means an ordinary lease.
	tests = append(tests, struct {
		typ     CommandType
		payload any
	}{CmdLease, &Lease{Agent: "a1", Tasks: []string{"j1-encode-0"}, Speculative: true, Now: t0}})
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			data, err := Encode(tt.typ, tt.payload)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got, want := data[0], byte(tt.typ); got != want {
				t.Errorf("type byte: got %d, want %d", got, want)
			}
			typ, got, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if typ != tt.typ {
				t.Errorf("type: got %v, want %v", typ, tt.typ)
			}
			if !reflect.DeepEqual(got, tt.payload) {
				t.Errorf("payload:\n got %#v\nwant %#v", got, tt.payload)
			}
			// A value encodes like a pointer.
			byValue, err := Encode(tt.typ, reflect.ValueOf(tt.payload).Elem().Interface())
			if err != nil || string(byValue) != string(data) {
				t.Errorf("Encode by value: got %q, %v; want %q", byValue, err, data)
			}
		})
	}
}

func TestEncodeRejectsWrongPayload(t *testing.T) {
	tests := []struct {
		name    string
		typ     CommandType
		payload any
	}{
		{"mismatched type", CmdLease, Progress{}},
		{"not a command", CmdLease, "lease"},
		{"unknown type", CommandType(200), Lease{}},
		{"nil", CmdFail, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Encode(tt.typ, tt.payload); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("got %v, want ErrInvalidInput", err)
			}
		})
	}
}

func TestApplyPanicsOnGarbage(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"type zero", []byte{0, '{', '}'}},
		{"unknown type", []byte{200, '{', '}'}},
		{"bad json", append([]byte{byte(CmdLease)}, "{not json"...)},
		{"no payload", []byte{byte(CmdSubmitJob)}},
		{"wrong shape", append([]byte{byte(CmdLease)}, `{"tasks":"x"}`...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Decode(tt.data); err == nil {
				t.Errorf("Decode: got nil error")
			}
			f := NewFSM(nil)
			defer func() {
				if recover() == nil {
					t.Errorf("Apply did not panic")
				}
			}()
			f.Apply(7, tt.data)
		})
	}
}

func TestCommandTypeNumbersAreFixed(t *testing.T) {
	// These numbers are in every log and snapshot ever written.
	want := map[CommandType]uint8{
		CmdRegisterAgent: 1, CmdAgentDown: 2, CmdSubmitJobV1: 3,
		CmdLease: 4, CmdProgress: 5, CmdComplete: 6,
		CmdFail: 7, CmdCancelJob: 8, CmdExpireAttempt: 9,
		CmdSteal: 10, CmdPlayable: 11, CmdSubmitJob: 12,
		CmdSplitHead: 19,
	}
	for ct, n := range want {
		if uint8(ct) != n {
			t.Errorf("%v = %d, want %d", ct, uint8(ct), n)
		}
	}
}
