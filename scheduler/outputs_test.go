package scheduler

import (
	"reflect"
	"slices"
	"testing"
)

func TestReportsComeOnlyFromTheAttemptsAgent(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	n := h.lease1("a1", "j1-split")
	grant := GrantOutputs{Task: "j1-split", Attempt: n, Agent: "a1", Outputs: []Grant{{Name: "c0.mkv", Key: "jobs/j1/chunks/c0.mkv"}}}
	forged := []struct {
		name string
		cmd  any
	}{
		{"progress", Progress{Task: "j1-split", Attempt: n, Agent: "a2", FramesDone: 1, FramesTotal: 2, Now: h.now()}},
		{"grant", GrantOutputs{Task: grant.Task, Attempt: n, Agent: "a2", Outputs: grant.Outputs, Now: h.now()}},
		{"complete", Complete{Task: "j1-split", Attempt: n, Agent: "a2", Result: result("j1-split"), NewTasks: plan("j1", 1), Rungs: rungs, Now: h.now()}},
		{"fail", Fail{Task: "j1-split", Attempt: n, Agent: "a2", Error: "forged", Permanent: true, Now: h.now()}},
	}
	for _, tt := range forged {
		t.Run(tt.name, func(t *testing.T) {
			h.tb = t
			h.unchanged(tt.cmd, ErrNotYourAttempt)
		})
	}
	h.tb = t
	// The attempt's own agent still reports as usual.
	h.ok(Progress{Task: "j1-split", Attempt: n, Agent: "a1", FramesDone: 1, FramesTotal: 2, Now: h.now()})
	grant.Now = h.now()
	h.ok(grant)
	h.ok(Complete{Task: "j1-split", Attempt: n, Agent: "a1", Result: result("j1-split"), Outputs: []Object{{Name: "c0.mkv", Size: 1, SHA256: "00"}},
		NewTasks: plan("j1", 1), Rungs: rungs, Now: h.now()})
	if got := h.task("j1-split"); got.State != StateDone || got.Winner != n {
		t.Errorf("split: got %s won by %d, want done won by %d", got.State, got.Winner, n)
	}
}

func TestGrantOutputs(t *testing.T) {
	h := newHarness(t)
	h.agent("a1", "a2")
	h.submit("j1", 0)
	n := h.lease1("a1", "j1-split")
	seg := Grant{Name: "c0.mkv", Key: "jobs/j1/chunks/c0.mkv"}
	audio := Grant{Name: "audio.mka", Key: "jobs/j1/chunks/audio.mka"}
	h.ok(GrantOutputs{Task: "j1-split", Attempt: n, Agent: "a1", Outputs: []Grant{seg}, Now: h.now()})
	// A retried request grants nothing new; a second one adds its names.
	h.ok(GrantOutputs{Task: "j1-split", Attempt: n, Agent: "a1", Outputs: []Grant{audio, seg}, Now: h.now()})
	if got, want := h.f.Granted("j1-split", n), []Grant{audio, seg}; !reflect.DeepEqual(got, want) {
		t.Errorf("granted: got %v, want %v", got, want)
	}
	refused := []struct {
		name string
		cmd  GrantOutputs
		want error
	}{
		{"no agent", GrantOutputs{Task: "j1-split", Attempt: n, Outputs: []Grant{seg}}, ErrInvalidInput},
		{"another key for a granted name", GrantOutputs{Task: "j1-split", Attempt: n, Agent: "a1", Outputs: []Grant{{Name: seg.Name, Key: "videos/x"}}}, ErrInvalidInput},
		{"empty key", GrantOutputs{Task: "j1-split", Attempt: n, Agent: "a1", Outputs: []Grant{{Name: "x"}}}, ErrInvalidInput},
		{"unknown attempt", GrantOutputs{Task: "j1-split", Attempt: n + 1, Agent: "a1", Outputs: []Grant{seg}}, ErrNotFound},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			h.tb = t
			tt.cmd.Now = h.now()
			h.unchanged(tt.cmd, tt.want)
		})
	}
	h.tb = t
	// Completion must report exactly the granted outputs.
	complete := func(outputs ...string) Complete {
		c := Complete{Task: "j1-split", Attempt: n, Agent: "a1", Result: result("j1-split"), NewTasks: plan("j1", 1), Rungs: rungs, Now: h.now()}
		for _, name := range outputs {
			c.Outputs = append(c.Outputs, Object{Name: name, Size: 1, SHA256: "00"})
		}
		return c
	}
	for _, tt := range []struct {
		name    string
		outputs []string
	}{
		{"one missing", []string{seg.Name}},
		{"one not granted", []string{seg.Name, audio.Name, "extra.mkv"}},
		{"one twice", []string{seg.Name, seg.Name, audio.Name}},
	} {
		t.Run("reports "+tt.name, func(t *testing.T) {
			h.tb = t
			h.unchanged(complete(tt.outputs...), ErrInvalidInput)
		})
	}
	h.tb = t
	h.ok(complete(seg.Name, audio.Name))
	// A finished attempt gets no more grants.
	h.fails(GrantOutputs{Task: "j1-split", Attempt: n, Agent: "a1", Outputs: []Grant{{Name: "late", Key: "jobs/j1/late"}}, Now: h.now()}, ErrStaleAttempt)

	e := h.lease1("a2", "j1-encode-0")
	h.ok(GrantOutputs{Task: "j1-encode-0", Attempt: e, Agent: "a2", Outputs: []Grant{{Name: "720p/c0.ts", Key: "videos/j1/hls/720p/c0.ts"}}, Now: h.now()})
	if got, want := h.f.JobObjects("j1"), []string{audio.Key, seg.Key, "videos/j1/hls/720p/c0.ts"}; !slices.Equal(got, want) {
		t.Errorf("job objects: got %v, want %v", got, want)
	}
	// Grants survive a snapshot.
	if got, want := restored(t, snapshotBytes(t, h.f)).JobObjects("j1"), h.f.JobObjects("j1"); !slices.Equal(got, want) {
		t.Errorf("restored job objects: got %v, want %v", got, want)
	}
}

func TestGrantOutputsEncoding(t *testing.T) {
	if got := uint8(CmdGrantOutputs); got != 16 {
		t.Fatalf("CmdGrantOutputs = %d, want 16: the number is in logs already written", got)
	}
	want := &GrantOutputs{Task: "t", Attempt: 2, Agent: "a1", Outputs: []Grant{{Name: "a.ts", Key: "videos/1/hls/a.ts"}}, Now: t0}
	data, err := Encode(CmdGrantOutputs, want)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	typ, got, err := Decode(data)
	if err != nil || typ != CmdGrantOutputs || !reflect.DeepEqual(got, want) {
		t.Errorf("Decode: got %v %#v %v, want %v %#v", typ, got, err, CmdGrantOutputs, want)
	}
	// Reports written before they named their agent still decode, with none.
	_, p, err := Decode(append([]byte{byte(CmdFail)}, `{"task":"t","attempt":1,"error":"x","now":"2026-01-02T03:04:05Z"}`...))
	if f, _ := p.(*Fail); err != nil || f == nil || f.Agent != "" {
		t.Errorf("old Fail entry: got %#v, %v", p, err)
	}
}
