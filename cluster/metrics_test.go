package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/sunomi/sunomi/agent"
	"github.com/sunomi/sunomi/internal/promcheck"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
)

// metricsNode is a coordinator without Raft, HTTP or gossip: its state
// machine is driven directly and its metrics are on a fresh registry.
func metricsNode(t *testing.T) (*Node, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	n := &Node{fsm: scheduler.NewFSM(nil)}
	var err error
	if n.metrics, err = newMetrics(reg, n); err != nil {
		t.Fatal(err)
	}
	return n, reg
}

// applyMetricsCmd applies one command to the node's state machine as Raft would.
func applyMetricsCmd(t *testing.T, n *Node, typ scheduler.CommandType, payload any) any {
	t.Helper()
	b, err := scheduler.Encode(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	res := n.fsm.Apply(0, b)
	if err, ok := res.(error); ok {
		t.Fatalf("%v: %v", typ, err)
	}
	return res
}

// metricFamily returns a gathered family by name.
func metricFamily(t *testing.T, g prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("metric %s not gathered", name)
	return nil
}

// metricSample finds the metric of a family with exactly these labels.
func metricSample(t *testing.T, g prometheus.Gatherer, name string, labels ...string) *dto.Metric {
	t.Helper()
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range metricFamily(t, g, name).GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if len(got) == len(want) && func() bool {
			for k, v := range want {
				if got[k] != v {
					return false
				}
			}
			return true
		}() {
			return m
		}
	}
	t.Fatalf("metric %s%v not gathered", name, labels)
	return nil
}

func gaugeValue(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	return metricSample(t, g, name, labels...).GetGauge().GetValue()
}

func histogramCount(t *testing.T, g prometheus.Gatherer, name string, labels ...string) (count uint64, sum float64) {
	t.Helper()
	h := metricSample(t, g, name, labels...).GetHistogram()
	return h.GetSampleCount(), h.GetSampleSum()
}

// encodeSpecJSON is an encode task's spec with an encoder and rungs of these short sides.
func encodeSpecJSON(t *testing.T, enc string, shorts ...int) json.RawMessage {
	t.Helper()
	var s media.EncodeSpec
	s.Video.H264.Encoder = enc
	for _, short := range shorts {
		s.Video.Rungs = append(s.Video.Rungs, media.Rung{Name: strconv.Itoa(short) + "p", Short: short})
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMetricsFollowAJob drives two jobs through the state machine — one done
// with a retried encode, one failed for good — observing what the agent
// protocol handlers observe, and checks the metrics and their lint.
func TestMetricsFollowAJob(t *testing.T) {
	n, reg := metricsNode(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	complete := func(task string, attempt int, s float64, c scheduler.Complete) {
		t.Helper()
		before, ok := n.fsm.TaskInfo(task)
		if !ok {
			t.Fatalf("task %s unknown", task)
		}
		c.Task, c.Attempt, c.Now = task, attempt, at(s)
		applyMetricsCmd(t, n, scheduler.CmdComplete, c)
		n.observeComplete(before, c, c.Now)
	}
	fail := func(task string, attempt int, s float64, permanent bool) {
		t.Helper()
		f := scheduler.Fail{Task: task, Attempt: attempt, Error: "boom", Permanent: permanent, Now: at(s)}
		applyMetricsCmd(t, n, scheduler.CmdFail, f)
		n.observeFail(f, f.Now)
	}
	lease := func(s float64, tasks ...string) {
		t.Helper()
		res := applyMetricsCmd(t, n, scheduler.CmdLease, scheduler.Lease{Agent: "a1", Tasks: tasks, Now: at(s)})
		if got := len(res.(scheduler.LeaseResult).Granted); got != len(tasks) {
			t.Fatalf("lease of %v at +%vs granted %d", tasks, s, got)
		}
	}

	// The agent only has libx264: the split's h264_nvenc falls back to it.
	applyMetricsCmd(t, n, scheduler.CmdRegisterAgent, scheduler.RegisterAgent{
		Info: scheduler.AgentInfo{ID: "a1", Slots: 4, Encoders: []string{media.EncoderX264}}, Now: t0})
	applyMetricsCmd(t, n, scheduler.CmdSubmitJob, scheduler.SubmitJob{ID: "j1", Source: "uploads/a.mp4", Output: "videos/j1", Now: t0})
	if got := gaugeValue(t, reg, "sunomi_scheduler_tasks", "state", "pending", "kind", "split", "codec", "none"); got != 1 {
		t.Errorf("pending splits %v, want 1", got)
	}
	if got := gaugeValue(t, reg, "sunomi_scheduler_jobs", "state", "queued"); got != 1 {
		t.Errorf("queued jobs %v, want 1", got)
	}

	lease(1, "j1-split")
	spec := encodeSpecJSON(t, media.EncoderNVENC, 720, 1080)
	complete("j1-split", 1, 3, scheduler.Complete{
		Rungs: []string{"1080p", "720p"},
		NewTasks: []scheduler.NewTask{
			{ID: "j1-e0", Kind: scheduler.KindEncode, Index: 0, Spec: spec, MediaSeconds: 10},
			{ID: "j1-e1", Kind: scheduler.KindEncode, Index: 1, Spec: spec, MediaSeconds: 10},
			{ID: "j1-audio", Kind: scheduler.KindAudio, MediaSeconds: 20},
		}})
	for _, tc := range []struct {
		state, kind, codec string
		want               float64
	}{
		{"pending", "encode", "h264", 2}, {"pending", "audio", "none", 1}, {"pending", "split", "none", 0},
		{"leased", "encode", "h264", 0}, {"pending", "encode", "av1", 0},
	} {
		if got := gaugeValue(t, reg, "sunomi_scheduler_tasks", "state", tc.state, "kind", tc.kind, "codec", tc.codec); got != tc.want {
			t.Errorf("tasks{state=%s,kind=%s} = %v, want %v", tc.state, tc.kind, got, tc.want)
		}
	}

	lease(4, "j1-e0", "j1-e1", "j1-audio")
	if got := gaugeValue(t, reg, "sunomi_scheduler_tasks", "state", "leased", "kind", "encode", "codec", "h264"); got != 2 {
		t.Errorf("leased encodes %v, want 2", got)
	}
	complete("j1-e0", 1, 9, scheduler.Complete{Outputs: []scheduler.Object{{Name: "a.ts", Size: 1000}, {Name: "b.ts", Size: 500}}})
	fail("j1-e1", 1, 6, false)
	lease(7, "j1-e1")
	complete("j1-e1", 2, 11, scheduler.Complete{})
	complete("j1-audio", 1, 8, scheduler.Complete{})
	lease(12, "j1-stitch")
	complete("j1-stitch", 1, 20, scheduler.Complete{})
	// The winner retrying its report is accepted again, and not counted again.
	complete("j1-stitch", 1, 21, scheduler.Complete{})

	applyMetricsCmd(t, n, scheduler.CmdSubmitJob, scheduler.SubmitJob{ID: "j2", Source: "uploads/b.mp4", Now: at(30)})
	lease(31, "j2-split")
	fail("j2-split", 1, 35, true)
	n.metrics.observePlayable(7 * time.Second)
	n.metrics.countUpload(4096)

	for _, tc := range []struct {
		name   string
		labels []string
		count  uint64
		sum    float64
	}{
		{"sunomi_task_duration_seconds", []string{"kind", "split", "outcome", "done", "codec", "none"}, 1, 2},
		{"sunomi_task_duration_seconds", []string{"kind", "encode", "outcome", "done", "codec", "h264"}, 2, 5 + 4},
		{"sunomi_task_duration_seconds", []string{"kind", "encode", "outcome", "failed", "codec", "h264"}, 1, 2},
		{"sunomi_task_duration_seconds", []string{"kind", "stitch", "outcome", "done", "codec", "none"}, 1, 8},
		{"sunomi_task_duration_seconds", []string{"kind", "split", "outcome", "failed", "codec", "none"}, 1, 4},
		{"sunomi_task_encode_speed_ratio", []string{"encoder", "libx264", "rung", "1080p", "codec", "h264"}, 2, 10.0/5 + 10.0/4},
		{"sunomi_job_duration_seconds", []string{"outcome", "done"}, 1, 20},
		{"sunomi_job_duration_seconds", []string{"outcome", "failed"}, 1, 5},
		{"sunomi_job_time_to_playable_seconds", []string{"audience", "owner"}, 1, 7},
	} {
		t.Run(tc.name+"{"+strings.Join(tc.labels, ",")+"}", func(t *testing.T) {
			count, sum := histogramCount(t, reg, tc.name, tc.labels...)
			if count != tc.count || sum != tc.sum {
				t.Errorf("count %d sum %v, want %d and %v", count, sum, tc.count, tc.sum)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sunomi_task_media_seconds_total", []string{"kind", "encode", "codec", "h264"}, 20},
		{"sunomi_task_output_bytes_total", []string{"kind", "encode", "codec", "h264"}, 1500},
		{"sunomi_storage_bytes_total", []string{"direction", "in"}, 4096},
	} {
		if got := metricSample(t, reg, tc.name, tc.labels...).GetCounter().GetValue(); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sunomi_scheduler_jobs", []string{"state", "done"}, 1},
		{"sunomi_scheduler_jobs", []string{"state", "failed"}, 1},
		{"sunomi_scheduler_jobs", []string{"state", "encoding"}, 0},
		{"sunomi_scheduler_agents", []string{"state", "alive"}, 1},
		{"sunomi_scheduler_agents", []string{"state", "dead"}, 0},
		{"sunomi_scheduler_slots", nil, 4},
		{"sunomi_scheduler_tasks", []string{"state", "pending", "kind", "encode", "codec", "h264"}, 0},
		{"sunomi_raft_leader", nil, 0},
		{"sunomi_raft_state", []string{"state", "follower"}, 1},
		{"sunomi_raft_term", nil, 0},
	} {
		if got := gaugeValue(t, reg, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if got, err := testutil.GatherAndCount(reg, "sunomi_scheduler_steals_total", "sunomi_scheduler_speculative_attempts_total",
		"sunomi_scheduler_speculative_wins_total"); err != nil || got != 3 {
		t.Errorf("scheduler counters: %d series (%v), want 3", got, err)
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
	tests := []struct {
		name          string
		spec          json.RawMessage
		have          []string
		enc, wantRung string
	}{
		{"as the spec requested", encodeSpecJSON(t, media.EncoderNVENC, 1080, 720), []string{media.EncoderX264, media.EncoderNVENC}, media.EncoderNVENC, "1080p"},
		{"fallback to hardware", encodeSpecJSON(t, media.EncoderNVENC, 2160), []string{media.EncoderX264, media.EncoderQSV}, media.EncoderQSV, "2160p"},
		{"fallback to libx264", encodeSpecJSON(t, media.EncoderQSV, 480), []string{media.EncoderX264}, media.EncoderX264, "480p"},
		{"agent unknown", encodeSpecJSON(t, media.EncoderX264, 240), nil, media.EncoderX264, "240p"},
		{"rung outside the ladder", encodeSpecJSON(t, media.EncoderX264, 134), nil, media.EncoderX264, media.LabelOther},
		{"unknown encoder", encodeSpecJSON(t, "h265_magic"), nil, media.LabelOther, media.LabelOther},
		{"not a spec", json.RawMessage(`[`), nil, media.LabelOther, media.LabelOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, rung := media.EncodeLabels(tc.spec, tc.have)
			if enc != tc.enc || rung != tc.wantRung {
				t.Errorf("got %s %s, want %s %s", enc, rung, tc.enc, tc.wantRung)
			}
		})
	}
}

// TestMetricsUsedByDashboardAndRulesExist checks that every metric the
// alert rules and the Grafana dashboard query is one the coordinator or the
// agent registers, so a rename cannot silently blank a panel or an alert.
func TestMetricsUsedByDashboardAndRulesExist(t *testing.T) {
	_, coordReg := metricsNode(t)
	registered, err := promcheck.Described(coordReg)
	if err != nil {
		t.Fatal(err)
	}
	agentReg := prometheus.NewPedanticRegistry()
	if _, err := agent.New(agent.Config{NodeID: "a", DataDir: t.TempDir(), Coordinators: []string{"http://127.0.0.1:1"},
		Executable: "/bin/true", Registry: agentReg}); err != nil {
		t.Fatal(err)
	}
	agentNames, err := promcheck.Described(agentReg)
	if err != nil {
		t.Fatal(err)
	}
	for name := range agentNames {
		registered[name] = true
	}

	exprs := map[string][]string{} // file → its expressions
	deploy := filepath.Join("..", "deploy")

	rules, problems, err := promcheck.Rules(filepath.Join(deploy, "prometheus", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("rules.yml: %s", p)
	}
	var alerts []string
	for _, r := range rules {
		alerts = append(alerts, r.Alert)
		exprs["rules.yml"] = append(exprs["rules.yml"], r.Expr)
	}
	for _, want := range []string{"SunomiNoLeader", "SunomiAgentsDied", "SunomiAliveAgentsDropped", "SunomiBacklogGrowing", "SunomiJobFailureRate"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("rules.yml has no alert %s", want)
		}
	}

	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, filepath.Join(deploy, "prometheus", "prometheus.yml"), &prom)
	if !slices.Contains(prom.RuleFiles, "rules.yml") {
		t.Errorf("prometheus.yml rule_files %v, want rules.yml", prom.RuleFiles)
	}
	var jobs []string
	for _, sc := range prom.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
	}
	if !slices.Contains(jobs, "sunomi-coordinator") || !slices.Contains(jobs, "sunomi-agent") {
		t.Errorf("prometheus.yml scrapes %v, want sunomi-coordinator and sunomi-agent", jobs)
	}

	_, exprs["farm.json"], problems, err = promcheck.ReadDashboard(filepath.Join(deploy, "grafana", "farm.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("farm.json: %s", p)
	}

	for file, es := range exprs {
		used := 0
		for _, e := range es {
			for _, name := range promcheck.Names(e) {
				used++
				if !registered[name] {
					t.Errorf("%s uses %s, which neither the coordinator nor the agent registers: %s", file, name, e)
				}
			}
		}
		if used == 0 {
			t.Errorf("%s uses no sunomi metric", file)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
