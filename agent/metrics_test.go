package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/internal/testkit"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
)

// gathered returns the metric of a gathered family with exactly these labels.
func gathered(t *testing.T, g prometheus.Gatherer, name string, labels ...string) *dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel())*2 != len(labels) {
				continue
			}
			for i, lp := range m.GetLabel() { // sorted by name, as labels must be
				if lp.GetName() != labels[2*i] || lp.GetValue() != labels[2*i+1] {
					continue next
				}
			}
			return m
		}
	}
	t.Fatalf("metric %s%v not gathered", name, labels)
	return nil
}

// TestMetricsOfARunningAgent runs a task that moves files, one that fails
// and a slow one, and checks what the agent's metrics say, and their lint.
func TestMetricsOfARunningAgent(t *testing.T) {
	f := newFakeCoordinator(t)
	reg := prometheus.NewPedanticRegistry()
	r := startAgent(t, f, func(c *Config) { c.Registry, c.Slots = reg, 2 })

	ok := testTask(t, "t1", testSpec{Write: map[string]string{"a.ts": "segment", "sub/b.jpg": "thumb"}})
	ok.Inputs = map[string]string{"source": f.fileURL("src", writeTemp(t, "src", "the source"))}
	f.add(ok, testTask(t, "t2", testSpec{Error: "bad media", Permanent: true}))
	for range 2 {
		f.next(t, 30*time.Second)
	}
	slow := testTask(t, "t3", testSpec{Seconds: 30})
	f.add(slow)
	// The failed task's attempt is released a moment after its slot: wait for both to settle
	// on the slow task alone.
	testkit.WaitFor(t, 20*time.Second, "the slow task to take a slot and be the only attempt held", func() bool {
		return gathered(t, reg, "sunomi_agent_slots_busy").GetGauge().GetValue() == 1 &&
			gathered(t, reg, "sunomi_agent_attempts_held").GetGauge().GetValue() == 1
	})
	f.setAbandon(refOf(slow))
	testkit.WaitFor(t, 20*time.Second, "the slow task to be abandoned", func() bool {
		return gathered(t, reg, "sunomi_agent_slots_busy").GetGauge().GetValue() == 0
	})

	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sunomi_agent_transfer_bytes_total", []string{"direction", "download"}, float64(len("the source"))},
		{"sunomi_agent_transfer_bytes_total", []string{"direction", "upload"}, float64(len("segment") + len("thumb"))},
	} {
		if got := gathered(t, reg, tc.name, tc.labels...).GetCounter().GetValue(); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if got := gathered(t, reg, "sunomi_agent_slots").GetGauge().GetValue(); got != 2 {
		t.Errorf("slots %v, want 2", got)
	}
	// The test kind is not a pipeline kind: its label is "other".
	for _, outcome := range []string{outcomeDone, outcomeFailed, outcomeCanceled} {
		testkit.WaitFor(t, 10*time.Second, outcome+" task observed", func() bool {
			return gathered(t, reg, "sunomi_agent_task_duration_seconds", "codec", scheduler.CodecLabelNone, "kind", media.LabelOther, "outcome", outcome).
				GetHistogram().GetSampleCount() == 1
		})
	}
	if got, err := testutil.GatherAndCount(reg, "sunomi_agent_task_duration_seconds"); err != nil || got != 5*3+3 {
		t.Errorf("%d task duration series (%v), want every pipeline kind and outcome, and the test kind's three", got, err)
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if err := r.stop(t, 10*time.Second); err != nil {
		t.Errorf("Run returned %v", err)
	}
}

func TestMetricsEncodeSpeed(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a, err := New(Config{NodeID: "a", DataDir: t.TempDir(), Coordinators: []string{"http://127.0.0.1:1"},
		Executable: "/bin/true", Encoders: []string{media.EncoderX264}, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	spec := func(enc string, shorts ...int) json.RawMessage {
		var s media.EncodeSpec
		s.Video.H264.Encoder = enc
		for _, short := range shorts {
			s.Video.Rungs = append(s.Video.Rungs, media.Rung{Name: strconv.Itoa(short) + "p", Short: short})
		}
		return jsonOf(t, s)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	att := func(ctx context.Context, kind scheduler.TaskKind, spec json.RawMessage) *attempt {
		return &attempt{asg: wire.Assignment{Kind: kind, Spec: spec, MediaSeconds: 12}, ctx: ctx}
	}
	// The spec asked for NVENC; this agent has only libx264, so that ran.
	a.ran(att(context.Background(), scheduler.KindEncode, spec(media.EncoderNVENC, 720, 1080)), outcome{}, 4*time.Second)
	a.ran(att(context.Background(), scheduler.KindEncode, spec(media.EncoderX264, 1080)), outcome{}, 6*time.Second)
	// Neither failures nor cancellations have a speed.
	a.ran(att(context.Background(), scheduler.KindEncode, spec(media.EncoderX264, 1080)), outcome{err: errors.New("bad media")}, time.Second)
	a.ran(att(canceled, scheduler.KindEncode, spec(media.EncoderX264, 1080)), outcome{err: context.Canceled}, time.Second)

	// An AV1 task encodes AV1 rungs only, with libsvtav1.
	av1 := media.AV1EncodeSpec(media.ChunkSpec{}, media.VideoSettings{},
		media.Rung{Name: "1080p-av1", Short: 1080, Codec: media.CodecAV1})
	a.ran(att(context.Background(), scheduler.KindEncodeAV1, jsonOf(t, av1)), outcome{}, 24*time.Second)

	h := gathered(t, reg, "sunomi_agent_encode_speed_ratio", "codec", scheduler.CodecLabelH264, "encoder", media.EncoderX264, "rung", "1080p").GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() != 12.0/4+12.0/6 {
		t.Errorf("speed count %d sum %v, want 2 and %v", h.GetSampleCount(), h.GetSampleSum(), 12.0/4+12.0/6)
	}
	for _, tc := range []struct {
		outcome string
		want    uint64
	}{{outcomeDone, 2}, {outcomeFailed, 1}, {outcomeCanceled, 1}} {
		got := gathered(t, reg, "sunomi_agent_task_duration_seconds", "codec", scheduler.CodecLabelH264, "kind", string(scheduler.KindEncode), "outcome", tc.outcome).GetHistogram().GetSampleCount()
		if got != tc.want {
			t.Errorf("encode tasks %s: %d, want %d", tc.outcome, got, tc.want)
		}
	}
	h = gathered(t, reg, "sunomi_agent_encode_speed_ratio", "codec", scheduler.CodecLabelAV1, "encoder", media.EncoderSVTAV1, "rung", "1080p-av1").GetHistogram()
	if h.GetSampleCount() != 1 || h.GetSampleSum() != 12.0/24 {
		t.Errorf("AV1 speed count %d sum %v, want 1 and %v", h.GetSampleCount(), h.GetSampleSum(), 12.0/24)
	}
	if got := gathered(t, reg, "sunomi_agent_task_duration_seconds", "codec", scheduler.CodecLabelAV1, "kind", string(scheduler.KindEncode), "outcome", outcomeDone).GetHistogram().GetSampleCount(); got != 1 {
		t.Errorf("AV1 encode tasks done: %d, want 1", got)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestMetricsEncodeLabels(t *testing.T) {
	spec := func(enc string, shorts ...int) json.RawMessage {
		var s media.EncodeSpec
		s.Video.H264.Encoder = enc
		for _, short := range shorts {
			s.Video.Rungs = append(s.Video.Rungs, media.Rung{Name: strconv.Itoa(short) + "p", Short: short})
		}
		return jsonOf(t, s)
	}
	tests := []struct {
		name      string
		spec      json.RawMessage
		have      []string
		enc, rung string
	}{
		{"as the spec requested", spec(media.EncoderNVENC, 1080, 720), []string{media.EncoderX264, media.EncoderNVENC}, media.EncoderNVENC, "1080p"},
		{"fallback to hardware", spec(media.EncoderNVENC, 1440), []string{media.EncoderX264, media.EncoderQSV}, media.EncoderQSV, "1440p"},
		{"fallback to libx264", spec(media.EncoderQSV, 360), []string{media.EncoderX264}, media.EncoderX264, "360p"},
		{"rung outside the ladder", spec(media.EncoderX264, 134), nil, media.EncoderX264, media.LabelOther},
		{"unknown encoder", spec("h265_magic"), nil, media.LabelOther, media.LabelOther},
		{"not a spec", json.RawMessage(`[`), nil, media.LabelOther, media.LabelOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, rung := media.EncodeLabels(tc.spec, tc.have)
			if enc != tc.enc || rung != tc.rung {
				t.Errorf("got %s %s, want %s %s", enc, rung, tc.enc, tc.rung)
			}
		})
	}
}
