package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
	"github.com/sunomi/sunomi/storage"
)

// TestAssignmentCarriesTheResolvedEncoder: what FindWork resolves for the
// agent reaches the agent in its assignment; other kinds carry none.
func TestAssignmentCarriesTheResolvedEncoder(t *testing.T) {
	store, err := storage.NewLocal(t.TempDir(), storage.Options{PublicURL: "http://127.0.0.1:1", Secret: bytes.Repeat([]byte("k"), storage.MinSecretSize)})
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{fsm: scheduler.NewFSM(nil), cfg: Config{Store: store}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var index uint64
	apply := func(typ scheduler.CommandType, payload any) any {
		t.Helper()
		b, err := scheduler.Encode(typ, payload)
		if err != nil {
			t.Fatal(err)
		}
		index++
		res := n.fsm.Apply(index, b)
		if err, ok := res.(error); ok {
			t.Fatalf("%v: %v", typ, err)
		}
		return res
	}
	apply(scheduler.CmdRegisterAgent, scheduler.RegisterAgent{Info: scheduler.AgentInfo{ID: "gpu", Slots: 2,
		Encoders: []string{media.EncoderNVENC, media.EncoderX264}}, Now: now})
	apply(scheduler.CmdSubmitJob, scheduler.SubmitJob{ID: "j", Source: "up/j", Output: "videos/j/hls", Encoder: media.EncoderAuto, Now: now})
	apply(scheduler.CmdLease, scheduler.Lease{Agent: "gpu", Tasks: []string{"j-split"}, Now: now})
	apply(scheduler.CmdComplete, scheduler.Complete{Task: "j-split", Attempt: 1, Result: json.RawMessage(`{}`), Now: now,
		NewTasks: []scheduler.NewTask{{ID: "j-e0", Kind: scheduler.KindEncode, Index: 0, MediaSeconds: 4, Prefer: scheduler.PreferredEncoders(1080),
			Inputs: map[string]string{"c0.nut": "jobs/j/chunks/c0.nut"}}}})

	typ, cmd, ok := n.fsm.FindWork("gpu", 1, now)
	if !ok {
		t.Fatal("FindWork: nothing for the agent")
	}
	granted := apply(typ, cmd).(scheduler.LeaseResult).Granted
	a, err := n.assignment(context.Background(), granted[0])
	if err != nil {
		t.Fatal(err)
	}
	if a.Task != "j-e0" || a.Encoder != media.EncoderNVENC || a.Inputs["c0.nut"] == "" {
		t.Errorf("encode assignment: got %+v, want j-e0 with %s and a presigned input", a, media.EncoderNVENC)
	}
	split, err := n.assignment(context.Background(), scheduler.AttemptRef{Task: "j-split", Attempt: 1})
	if err != nil || split.Encoder != "" {
		t.Errorf("split assignment: got %+v, %v; want no encoder", split, err)
	}
}
