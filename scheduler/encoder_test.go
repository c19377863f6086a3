package scheduler

import (
	"maps"
	"slices"
	"testing"

	"github.com/sunomi/sunomi/media"
)

func TestEncoderFor(t *testing.T) {
	hw := PreferredEncoders(1080)
	gpu := &agent{Info: AgentInfo{ID: "gpu", Encoders: []string{media.EncoderNVENC, media.EncoderX264}}, State: AgentAlive}
	qsv := &agent{Info: AgentInfo{ID: "qsv", Encoders: []string{media.EncoderQSV, media.EncoderX264}}, State: AgentAlive}
	cpu := &agent{Info: AgentInfo{ID: "cpu", Encoders: []string{media.EncoderX264}}, State: AgentAlive}
	tests := []struct {
		name      string
		requested string
		prefer    []string
		pin       Family
		agents    []*agent // alive; the first asks
		want      string
		wantOK    bool
	}{
		{"auto, high ladder, gpu", media.EncoderAuto, hw, "", []*agent{gpu, cpu}, media.EncoderNVENC, true},
		{"auto, high ladder, qsv", media.EncoderAuto, hw, "", []*agent{qsv}, media.EncoderQSV, true},
		{"auto, high ladder, cpu leaves the first lease to the gpu", media.EncoderAuto, hw, "", []*agent{cpu, gpu}, "", false},
		{"auto, high ladder, cpu without gpus", media.EncoderAuto, hw, "", []*agent{cpu}, media.EncoderX264, true},
		{"auto, low ladder, gpu", media.EncoderAuto, nil, "", []*agent{gpu, cpu}, media.EncoderX264, true},
		{"libx264 asked for", media.EncoderX264, hw, "", []*agent{gpu}, media.EncoderX264, true},
		{"qsv asked for, not offered anywhere", media.EncoderQSV, nil, "", []*agent{gpu, cpu}, media.EncoderX264, true},
		{"nvenc asked for, cpu leaves it to the gpu", media.EncoderNVENC, nil, "", []*agent{cpu, gpu}, "", false},
		{"nvenc asked for, gpu", media.EncoderNVENC, nil, "", []*agent{gpu, cpu}, media.EncoderNVENC, true},
		{"old job", "", hw, "", []*agent{gpu}, "", true},
		{"pinned software, gpu", media.EncoderAuto, hw, FamilySoftware, []*agent{gpu}, media.EncoderX264, true},
		{"pinned hardware, cpu", media.EncoderAuto, hw, FamilyHardware, []*agent{cpu, gpu}, "", false},
		{"pinned hardware, no gpu alive", media.EncoderAuto, hw, FamilyHardware, []*agent{cpu}, media.EncoderX264, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState()
			for _, a := range tt.agents {
				s.Agents[a.Info.ID] = a
			}
			j := &job{ID: "j", Encoder: tt.requested, Family: tt.pin}
			task := &task{ID: "j-e0", Job: "j", Kind: KindEncode, Prefer: tt.prefer}
			got, ok := s.encoderFor(j, task, tt.agents[0])
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("encoderFor: got %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestPreferredEncoders(t *testing.T) {
	if got := PreferredEncoders(1080); !slices.Equal(got, media.HardwareEncoders()) {
		t.Errorf("PreferredEncoders(1080): got %v", got)
	}
	if got := PreferredEncoders(2160); !slices.Equal(got, media.HardwareEncoders()) {
		t.Errorf("PreferredEncoders(2160): got %v", got)
	}
	if got := PreferredEncoders(720); got != nil {
		t.Errorf("PreferredEncoders(720): got %v, want none", got)
	}
}

// findLease asks FindWork and returns the Lease it proposes (failing on
// anything else).
func (h *harness) findLease(agent string, free int) Lease {
	h.tb.Helper()
	ct, cmd, ok := h.f.FindWork(agent, free, h.now())
	if !ok || ct != CmdLease {
		h.tb.Fatalf("FindWork(%s): got %v %v %v, want a lease", agent, ct, cmd, ok)
	}
	return cmd.(Lease)
}

// TestEncoderPin follows one job's encoder family: the first encode lease
// pins it, other families are refused, and when no alive agent offers the
// pinned hardware any more the job moves to software for good.
func TestEncoderPin(t *testing.T) {
	h := newHarness(t)
	h.agentEnc("gpu", 2, media.EncoderNVENC, media.EncoderX264)
	h.agentEnc("cpu", 2, media.EncoderX264)
	h.ok(SubmitJob{ID: "j", Source: "up/j", Encoder: media.EncoderAuto, Now: h.now()})
	h.splitPrefer("j", "cpu", 3, true, PreferredEncoders(1080)) // a high ladder
	if l := h.findLease("cpu", 1); !slices.Equal(l.Tasks, []string{"j-audio"}) || l.Encoders != nil {
		t.Fatalf("FindWork(cpu): got %+v, want the audio, no encoder", l)
	} else {
		h.ok(l)
	}

	// The first encode lease pins the job to its encoder's family.
	l := h.findLease("gpu", 1)
	if want := map[string]string{enc("j", 0): media.EncoderNVENC}; !slices.Equal(l.Tasks, []string{enc("j", 0)}) || !maps.Equal(l.Encoders, want) {
		t.Fatalf("FindWork(gpu): got %+v, want %s with %v", l, enc("j", 0), want)
	}
	h.ok(l)
	if j := h.job("j"); j.Family != FamilyHardware || h.task(enc("j", 0)).Attempts[0].Encoder != media.EncoderNVENC {
		t.Fatalf("after the first lease: family %q, attempt %+v", j.Family, h.task(enc("j", 0)).Attempts[0])
	}

	// A CPU agent gets none of the pinned job's encodes, and a lease that
	// would mix families, or name an encoder the agent lacks, is refused.
	if _, cmd, ok := h.f.FindWork("cpu", 2, h.now()); ok {
		t.Fatalf("FindWork(cpu) on a hardware-pinned job: got %+v", cmd)
	}
	if g := h.lease1OrNone(Lease{Agent: "cpu", Tasks: []string{enc("j", 1)}, Encoders: map[string]string{enc("j", 1): media.EncoderX264}, Now: h.now()}); g != 0 {
		t.Errorf("a software lease of a hardware-pinned job was granted")
	}
	if g := h.lease1OrNone(Lease{Agent: "gpu", Tasks: []string{enc("j", 1)}, Encoders: map[string]string{enc("j", 1): media.EncoderQSV}, Now: h.now()}); g != 0 {
		t.Errorf("a lease with an encoder the agent does not offer was granted")
	}
	h.unchanged(Steal{Thief: "cpu", Task: enc("j", 0), Victim: "gpu", Attempt: 1, Encoder: media.EncoderX264, Now: h.now()}, ErrInvalidInput)
	if g := h.lease1OrNone(Lease{Agent: "gpu", Tasks: []string{enc("j", 2)}, Encoders: map[string]string{enc("j", 2): media.EncoderNVENC}, Now: h.now()}); g == 0 {
		t.Errorf("a lease of the pinned family on an agent that offers it was refused")
	}

	// The hardware agent dies: its attempt fails, and the job falls back to
	// software instead of waiting for it.
	h.ok(AgentDown{ID: "gpu", State: AgentDead, Now: h.now()})
	l = h.findLease("cpu", 1)
	if want := map[string]string{enc("j", 0): media.EncoderX264}; !maps.Equal(l.Encoders, want) {
		t.Fatalf("FindWork(cpu) after the fallback: got %+v, want %v", l, want)
	}
	h.ok(l)
	if j := h.job("j"); j.Family != FamilySoftware {
		t.Fatalf("after the fallback lease: family %q, want software", j.Family)
	}

	// The pin stays software when the hardware agent returns.
	h.agentEnc("gpu", 2, media.EncoderNVENC, media.EncoderX264)
	l = h.findLease("gpu", 1)
	if want := map[string]string{enc("j", 1): media.EncoderX264}; !maps.Equal(l.Encoders, want) {
		t.Errorf("FindWork(gpu) on a software-pinned job: got %+v, want %v", l, want)
	}
}

// TestEncoderUnresolvedForOldJobs: a job submitted without a requested
// encoder (by an older version) keeps what its split planned: no encoder is
// resolved and no family pinned.
func TestEncoderUnresolvedForOldJobs(t *testing.T) {
	h := newHarness(t)
	h.agentEnc("gpu", 2, media.EncoderNVENC, media.EncoderX264)
	h.submit("old", 0)
	h.split("old", "gpu", 2)
	l := h.findLease("gpu", 2)
	if len(l.Tasks) == 0 || l.Encoders != nil {
		t.Fatalf("FindWork(gpu): got %+v, want tasks without encoders", l)
	}
	h.ok(l)
	if j := h.job("old"); j.Family != "" {
		t.Errorf("family %q, want none", j.Family)
	}
}

// lease1OrNone applies a lease and returns the attempt granted, or 0.
func (h *harness) lease1OrNone(l Lease) int {
	h.tb.Helper()
	g := h.ok(l).(LeaseResult).Granted
	if len(g) == 0 {
		return 0
	}
	return g[0].Attempt
}
