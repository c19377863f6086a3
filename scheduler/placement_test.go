package scheduler

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

var hw = []string{"h264_nvenc", "h264_qsv"}

// agentEnc registers an agent with slots slots advertising encoders.
func (h *harness) agentEnc(id string, slots int, encoders ...string) {
	h.tb.Helper()
	h.ok(RegisterAgent{Info: AgentInfo{ID: id, Slots: slots, Encoders: encoders}, Now: h.now()})
}

// splitPrefer completes the job's split (leased by agent) with chunks encode
// tasks that prefer prefer, plus an audio task when audio is set.
func (h *harness) splitPrefer(job, agent string, chunks int, audio bool, prefer []string) {
	h.tb.Helper()
	tasks := plan(job, chunks)
	if !audio {
		tasks = tasks[:chunks]
	}
	for i := range tasks {
		if tasks[i].Kind == KindEncode {
			tasks[i].Prefer = prefer
		}
	}
	n := h.lease1(agent, job+"-split")
	h.ok(Complete{Task: job + "-split", Attempt: n, NewTasks: tasks, Rungs: rungs, Now: h.now()})
}

func TestNextTasksPreference(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		agent string
		n     int
		want  []string
	}{
		{"preferred agent idle: the CPU agent skips the task", func(h *harness) {
			h.agentEnc("gpu", 2, "libx264", "h264_nvenc")
			h.agentEnc("cpu", 2, "libx264")
			h.submit("j", 0)
			h.splitPrefer("j", "cpu", 1, false, hw)
		}, "cpu", 4, nil},
		{"the CPU agent takes what the free preferred slots cannot", func(h *harness) {
			h.agentEnc("gpu", 2, "libx264", "h264_qsv")
			h.agentEnc("cpu", 2, "libx264")
			h.submit("j", 0)
			h.splitPrefer("j", "cpu", 3, false, hw)
		}, "cpu", 4, []string{enc("j", 2)}},
		{"preferred agent busy: the CPU agent takes it", func(h *harness) {
			h.agentEnc("gpu", 1, "libx264", "h264_nvenc")
			h.agentEnc("cpu", 2, "libx264")
			h.submit("j", 0)
			h.splitPrefer("j", "cpu", 3, false, hw)
			h.hold("gpu", 1, enc("j", 0))
		}, "cpu", 4, []string{enc("j", 1), enc("j", 2)}},
		{"preferred agent draining: the CPU agent takes it", func(h *harness) {
			h.agentEnc("gpu", 2, "libx264", "h264_nvenc")
			h.agentEnc("cpu", 2, "libx264")
			h.submit("j", 0)
			h.splitPrefer("j", "cpu", 2, false, hw)
			h.ok(AgentDown{ID: "gpu", State: AgentDraining, Now: h.now()})
		}, "cpu", 4, []string{enc("j", 0), enc("j", 1)}},
		{"preferred agent failed the task: the CPU agent takes it", func(h *harness) {
			h.agentEnc("gpu", 2, "libx264", "h264_nvenc")
			h.agentEnc("cpu", 2, "libx264")
			h.submit("j", 0)
			h.splitPrefer("j", "cpu", 1, false, hw)
			h.ok(Fail{Task: enc("j", 0), Attempt: h.lease1("gpu", enc("j", 0)), Error: "nvenc", Now: h.now()})
		}, "cpu", 4, []string{enc("j", 0)}},
		{"no GPU agents: everyone takes it", func(h *harness) {
			h.agentEnc("cpu1", 2, "libx264")
			h.agentEnc("cpu2", 2, "libx264")
			h.submit("j", 0)
			h.splitPrefer("j", "cpu1", 2, true, hw)
		}, "cpu2", 4, []string{"j-audio", enc("j", 0), enc("j", 1)}},
		{"the CPU agent keeps the usual order for the rest", func(h *harness) {
			h.agentEnc("gpu", 1, "libx264", "h264_nvenc")
			h.agentEnc("cpu", 2, "libx264")
			h.submit("j", 0)
			h.splitPrefer("j", "cpu", 2, true, hw)
		}, "cpu", 4, []string{"j-audio", enc("j", 1)}},
		{"the GPU agent takes preferring tasks before the job's others", func(h *harness) {
			h.agentEnc("gpu", 2, "libx264", "h264_nvenc")
			h.agentEnc("cpu", 2, "libx264")
			h.submit("j", 0)
			h.splitPrefer("j", "cpu", 2, true, hw)
		}, "gpu", 4, []string{enc("j", 0), enc("j", 1), "j-audio"}},
		{"the GPU agent takes preferring tasks before an older job's", func(h *harness) {
			h.agentEnc("gpu", 2, "libx264", "h264_nvenc")
			h.agentEnc("cpu", 2, "libx264")
			h.submit("old", 0)
			h.submit("hd", 0)
			h.splitPrefer("old", "cpu", 2, false, nil)
			h.splitPrefer("hd", "cpu", 2, false, hw)
		}, "gpu", 3, []string{enc("hd", 0), enc("hd", 1), enc("old", 0)}},
		{"but not before a higher priority", func(h *harness) {
			h.agentEnc("gpu", 2, "libx264", "h264_nvenc")
			h.agentEnc("cpu", 2, "libx264")
			h.submit("high", 1)
			h.submit("hd", 0)
			h.splitPrefer("high", "cpu", 1, false, nil)
			h.splitPrefer("hd", "cpu", 1, false, hw)
		}, "gpu", 2, []string{enc("high", 0), enc("hd", 0)}},
		{"every agent a GPU agent: the fair order stands", func(h *harness) {
			h.agentEnc("gpu", 2, "libx264", "h264_nvenc")
			h.agentEnc("gpu2", 2, "libx264", "h264_qsv")
			h.submit("old", 0)
			h.submit("hd", 0)
			h.splitPrefer("old", "gpu2", 2, false, nil)
			h.splitPrefer("hd", "gpu2", 2, true, hw)
		}, "gpu", 4, []string{enc("old", 0), "hd-audio", enc("old", 1), enc("hd", 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.setup(h)
			if got := nextTasks(h.f.s, tt.agent, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("nextTasks(%s, %d): got %v, want %v", tt.agent, tt.n, got, tt.want)
			}
		})
	}
}

func TestStealForPreference(t *testing.T) {
	// gpu runs hd's encode-0 with encode-1 queued behind it; nothing is
	// pending, so idle agents look for something to steal.
	setup := func(t *testing.T, prefer []string) *harness {
		h := newHarness(t)
		h.agentEnc("gpu", 1, "libx264", "h264_nvenc")
		h.agentEnc("gpu2", 1, "libx264", "h264_qsv")
		h.agentEnc("cpu", 1, "libx264")
		h.submit("hd", 0)
		h.splitPrefer("hd", "cpu", 2, false, prefer)
		h.hold("gpu", 1, enc("hd", 0), enc("hd", 1))
		return h
	}
	want := AttemptRef{Task: enc("hd", 1), Attempt: 1}
	t.Run("a CPU thief leaves a preferring task with its GPU agent", func(t *testing.T) {
		h := setup(t, hw)
		if ref, victim, ok := stealFor(h.f.s, "cpu"); ok {
			t.Errorf("stealFor(cpu): got %v from %s, want nothing", ref, victim)
		}
	})
	t.Run("a GPU thief steals it", func(t *testing.T) {
		h := setup(t, hw)
		if ref, victim, ok := stealFor(h.f.s, "gpu2"); !ok || ref != want || victim != "gpu" {
			t.Errorf("stealFor(gpu2): got %v, %s, %v; want %v from gpu", ref, victim, ok, want)
		}
	})
	t.Run("a CPU thief steals a task without preference", func(t *testing.T) {
		h := setup(t, nil)
		if ref, victim, ok := stealFor(h.f.s, "cpu"); !ok || ref != want || victim != "gpu" {
			t.Errorf("stealFor(cpu): got %v, %s, %v; want %v from gpu", ref, victim, ok, want)
		}
	})
	t.Run("a CPU thief steals a preferring task from a CPU agent", func(t *testing.T) {
		h := newHarness(t)
		h.agentEnc("cpu1", 1, "libx264")
		h.agentEnc("cpu2", 1, "libx264")
		h.submit("hd", 0)
		h.splitPrefer("hd", "cpu1", 2, false, hw)
		h.hold("cpu1", 1, enc("hd", 0), enc("hd", 1))
		if ref, victim, ok := stealFor(h.f.s, "cpu2"); !ok || ref != want || victim != "cpu1" {
			t.Errorf("stealFor(cpu2): got %v, %s, %v; want %v from cpu1", ref, victim, ok, want)
		}
	})
}

// Prefer is optional on the wire: a NewTask without it encodes as before,
// and an entry written before it existed plans tasks without preference.
func TestPreferCompat(t *testing.T) {
	data, err := json.Marshal(NewTask{ID: "j-encode-0", Kind: KindEncode})
	if err != nil || strings.Contains(string(data), "prefer") {
		t.Fatalf("NewTask without Prefer: got %s, %v", data, err)
	}
	h := newHarness(t)
	h.agentEnc("cpu", 1, "libx264")
	h.submit("j", 0)
	n := h.lease1("cpu", "j-split")
	old := `{"task":"j-split","attempt":` + string(rune('0'+n)) + `,"newTasks":[{"id":"j-encode-0","kind":"encode","index":0,"mediaSeconds":8}],"now":"2026-01-02T03:05:00Z"}`
	h.index++
	if err, ok := h.f.Apply(h.index, rawLog(CmdComplete, old)).(error); ok {
		t.Fatalf("old Complete: %v", err)
	}
	if p := h.f.s.Tasks["j-encode-0"].Prefer; p != nil {
		t.Errorf("Prefer of a task planned by an old entry: got %v, want nil", p)
	}
	// A task that prefers encoders keeps them through a snapshot.
	h.submit("k", 0)
	h.splitPrefer("k", "cpu", 1, false, hw)
	f := restored(t, snapshotBytes(t, h.f))
	if got := f.s.Tasks[enc("k", 0)].Prefer; !slices.Equal(got, hw) {
		t.Errorf("Prefer after restore: got %v, want %v", got, hw)
	}
}

// rawLog is a log entry of type ct with a hand-written JSON payload.
func rawLog(ct CommandType, payload string) []byte {
	return append([]byte{byte(ct)}, payload...)
}
