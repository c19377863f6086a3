package scheduler

import (
	"maps"
	"slices"
	"testing"

	"github.com/sunomi/sunomi/media"
)

func TestResolveEncoder(t *testing.T) {
	gpu := []string{media.EncoderNVENC, media.EncoderX264}
	qsv := []string{media.EncoderQSV, media.EncoderX264}
	cpu := []string{media.EncoderX264}
	tests := []struct {
		requested string
		offered   []string
		want      string
	}{
		{media.EncoderAuto, gpu, media.EncoderNVENC},
		{media.EncoderAuto, qsv, media.EncoderQSV},
		{media.EncoderAuto, cpu, media.EncoderX264},
		{media.EncoderAuto, nil, media.EncoderX264},
		{media.EncoderX264, gpu, media.EncoderX264},
		{media.EncoderX264, nil, media.EncoderX264},
		{media.EncoderQSV, qsv, media.EncoderQSV},
		{media.EncoderQSV, gpu, media.EncoderNVENC}, // not offered: as auto
		{media.EncoderNVENC, cpu, media.EncoderX264},
		{"h265_magic", gpu, media.EncoderNVENC},
	}
	for _, tt := range tests {
		if got := resolveEncoder(tt.requested, tt.offered); got != tt.want {
			t.Errorf("resolveEncoder(%q, %v): got %q, want %q", tt.requested, tt.offered, got, tt.want)
		}
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
	h.split("j", "cpu", 3)
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
