package cluster

import (
	"slices"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
)

// metrics are the coordinator's own; labels stay bounded (states, kinds,
// encoders, rungs, outcomes — never job, task or agent IDs). Gauges of the
// replicated state are read from the FSM at scrape time, so every
// coordinator reports them (dashboards take the max); events the leader
// handles (completions, failures, publishing) are observed by the leader
// alone, so dashboards sum them over coordinators.
type metrics struct {
	leaderChanges prometheus.Counter
	applyLatency  prometheus.Histogram
	fsmApply      prometheus.Histogram
	// taskDuration is an attempt's lease-to-report time by kind and outcome.
	taskDuration *prometheus.HistogramVec
	// encodeSpeed is media seconds per wall second of winning encode
	// attempts, by encoder and the ladder's top rung.
	encodeSpeed  *prometheus.HistogramVec
	mediaSeconds *prometheus.CounterVec
	outputBytes  *prometheus.CounterVec
	// jobDuration is a job's submit-to-end time by outcome.
	jobDuration    *prometheus.HistogramVec
	timeToPlayable *prometheus.HistogramVec // the owner's clock; the API observes the public one
	storageBytes   *prometheus.CounterVec
}

// Label values of the coordinator's metrics.
const (
	outcomeDone   = "done"
	outcomeFailed = "failed"
)

var (
	taskStates  = labels(scheduler.StatePending, scheduler.StateLeased, scheduler.StateRunning) // unfinished ones
	jobStates   = labels(scheduler.JobQueued, scheduler.JobSplitting, scheduler.JobEncoding, scheduler.JobStitching, scheduler.JobDone, scheduler.JobFailed, scheduler.JobCanceled)
	jobOutcomes = labels(scheduler.JobDone, scheduler.JobFailed, scheduler.JobCanceled)
	agentStates = labels(scheduler.AgentAlive, scheduler.AgentDraining, scheduler.AgentDead, scheduler.AgentLeft)
)

// labels spells the domain's values as label values.
func labels[T ~string](vs ...T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func newMetrics(reg prometheus.Registerer, n *Node) (*metrics, error) {
	m := &metrics{
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sunomi_raft_leader_changes_total", Help: "Leadership changes seen by this coordinator."}),
		fsmApply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sunomi_raft_fsm_apply_duration_seconds", Help: "Time the state machine takes to apply one committed command.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 2, 16)}),
		applyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sunomi_raft_apply_duration_seconds", Help: "Time from proposing a command to its commit and apply.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sunomi_task_duration_seconds",
			Help: "Time from an attempt's lease to its completion or failure report, observed by the leader.",
			// 0.5 s to 2.3 h.
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 15)}, []string{"kind", "outcome", "codec"}),
		encodeSpeed: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sunomi_task_encode_speed_ratio",
			Help: "Media seconds per wall second of winning encode attempts from lease to report (transfers and prefetch wait included), by encoder and the ladder's top rung.",
			// 0.05× to 49×.
			Buckets: prometheus.ExponentialBuckets(0.05, 1.5, 18)}, []string{"encoder", "rung", "codec"}),
		mediaSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_task_media_seconds_total",
			Help: "Media seconds covered by committed tasks, by kind and the video codec encoded (h264, av1, none): the farm's throughput."}, []string{"kind", "codec"}),
		outputBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_task_output_bytes_total",
			Help: "Bytes of the outputs committed tasks uploaded to storage, by kind and the video codec encoded."}, []string{"kind", "codec"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sunomi_job_duration_seconds", Help: "Time from a job's submission to its end, by outcome.",
			// 1 s to 36 h.
			Buckets: prometheus.ExponentialBuckets(1, 2, 18)}, []string{"outcome"}),
		timeToPlayable: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: wire.TimeToPlayableMetric, Help: wire.TimeToPlayableHelp,
			// 0.5 s to 2.3 h, as the API's public series.
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 15)}, []string{"audience"}),
		storageBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_storage_bytes_total", Help: "Bytes clients uploaded to storage through this coordinator (PUT /v1/uploads)."},
			[]string{"direction"}),
	}
	// Series that exist from the start, so rates and alerts see a zero
	// rather than nothing.
	for _, k := range scheduler.TaskKinds() {
		kind, codec := k.MetricLabels()
		for _, o := range []string{outcomeDone, outcomeFailed} {
			m.taskDuration.WithLabelValues(kind, o, codec)
		}
		m.mediaSeconds.WithLabelValues(kind, codec)
		m.outputBytes.WithLabelValues(kind, codec)
	}
	for _, o := range jobOutcomes {
		m.jobDuration.WithLabelValues(o)
	}
	m.storageBytes.WithLabelValues("in")
	m.timeToPlayable.WithLabelValues(wire.AudienceOwner)

	// The scheduler's counters are replicated state: every coordinator
	// reports the same totals.
	counters := func(pick func(scheduler.Counters) uint64) func() float64 {
		return func() float64 { return float64(pick(n.fsm.Counters())) }
	}
	collectors := []prometheus.Collector{
		m.leaderChanges, m.applyLatency, m.fsmApply, m.taskDuration, m.encodeSpeed, m.mediaSeconds, m.outputBytes,
		m.jobDuration, m.timeToPlayable, m.storageBytes,
		newRaftCollector(n), newStateCollector(n),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sunomi_scheduler_steals_total", Help: "Queued tasks idle agents stole from loaded ones."},
			counters(func(c scheduler.Counters) uint64 { return c.Steals })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sunomi_scheduler_speculative_attempts_total", Help: "Backup attempts leased for straggling tasks."},
			counters(func(c scheduler.Counters) uint64 { return c.SpeculativeAttempts })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sunomi_scheduler_speculative_wins_total", Help: "Tasks a backup attempt committed before the original."},
			counters(func(c scheduler.Counters) uint64 { return c.SpeculativeWins })),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observePlayable records a job's time to playable for its owner; the
// leader calls it once per job, when it commits PlayableAt.
func (m *metrics) observePlayable(d time.Duration) {
	m.timeToPlayable.WithLabelValues(wire.AudienceOwner).Observe(d.Seconds())
}

// observeJob records a job's end; outcome is its final state (done, failed, canceled).
func (m *metrics) observeJob(outcome scheduler.JobState, d time.Duration) {
	m.jobDuration.WithLabelValues(media.Bounded(string(outcome), jobOutcomes)).Observe(d.Seconds())
}

// countUpload records bytes a client stored through PUT /v1/uploads.
func (m *metrics) countUpload(bytes int64) {
	m.storageBytes.WithLabelValues("in").Add(float64(bytes))
}

// findAttempt returns a task and one of its attempts from a job view.
func findAttempt(j scheduler.Job, task string, n int) (scheduler.Task, scheduler.Attempt, bool) {
	i := slices.IndexFunc(j.Tasks, func(t scheduler.Task) bool { return t.ID == task })
	if i < 0 || n < 1 || n > len(j.Tasks[i].Attempts) {
		return scheduler.Task{}, scheduler.Attempt{}, false
	}
	return j.Tasks[i], j.Tasks[i].Attempts[n-1], true
}

// observeComplete records a committed completion: the attempt's duration
// and, for encodes, its speed; for the stitch, the job's end. before is the
// task as it was before the command: a winner retrying its report is
// accepted again but counted once.
func (n *Node) observeComplete(before scheduler.TaskInfo, c scheduler.Complete, now time.Time) {
	if before.State == scheduler.StateDone {
		return
	}
	j, ok := n.fsm.Job(before.Job)
	if !ok {
		return
	}
	_, at, ok := findAttempt(j, c.Task, c.Attempt)
	if !ok || at.State != scheduler.StateDone {
		return
	}
	m := n.metrics
	kind, codec := before.Kind.MetricLabels()
	d := now.Sub(at.Started)
	m.taskDuration.WithLabelValues(kind, outcomeDone, codec).Observe(d.Seconds())
	if len(before.Rungs) == 0 || before.Lead { // a spread chunk's media counts once
		m.mediaSeconds.WithLabelValues(kind, codec).Add(max(before.MediaSeconds, 0))
	}
	var size int64
	for _, o := range c.Outputs {
		size += max(o.Size, 0)
	}
	m.outputBytes.WithLabelValues(kind, codec).Add(float64(size))
	if codec != scheduler.CodecLabelNone && before.MediaSeconds > 0 && d > 0 {
		a, _ := n.fsm.Agent(at.Agent)
		have := a.Encoders
		if at.Encoder != "" {
			have = []string{at.Encoder} // what the scheduler resolved
		}
		enc, rung := media.EncodeLabels(before.Spec, have)
		m.encodeSpeed.WithLabelValues(enc, rung, codec).Observe(before.MediaSeconds / d.Seconds())
	}
	// Only the stitch finishes a job, so concurrent completions of other
	// tasks never count it twice.
	if before.Kind == scheduler.KindStitch && j.State == scheduler.JobDone {
		m.observeJob(scheduler.JobDone, now.Sub(j.Created))
	}
}

// observeFail records a failed attempt and, when its task failed the job,
// the job's end.
func (n *Node) observeFail(f scheduler.Fail, now time.Time) {
	j, ok := n.fsm.Job(n.fsm.JobOfTask(f.Task))
	if !ok {
		return
	}
	t, at, ok := findAttempt(j, f.Task, f.Attempt)
	if !ok {
		return
	}
	kind, codec := t.Kind.MetricLabels()
	n.metrics.taskDuration.WithLabelValues(kind, outcomeFailed, codec).Observe(now.Sub(at.Started).Seconds())
	// A task that did not fail the job is pending again; the one that did
	// stays failed, so another task failing meanwhile is not counted here.
	if j.State == scheduler.JobFailed && t.State == scheduler.StateFailed {
		n.metrics.observeJob(scheduler.JobFailed, now.Sub(j.Created))
	}
}

// raftCollector reads Raft's state at scrape time.
type raftCollector struct {
	n                                *Node
	leader, state, term, commit, app *prometheus.Desc
}

func newRaftCollector(n *Node) *raftCollector {
	return &raftCollector{n: n,
		leader: prometheus.NewDesc("sunomi_raft_leader", "1 when this coordinator is the Raft leader.", nil, nil),
		state:  prometheus.NewDesc("sunomi_raft_state", "1 for this coordinator's Raft state, 0 for the others.", []string{"state"}, nil),
		term:   prometheus.NewDesc("sunomi_raft_term", "This coordinator's current Raft term.", nil, nil),
		commit: prometheus.NewDesc("sunomi_raft_commit_index", "Index of the last log entry this coordinator knows committed.", nil, nil),
		app:    prometheus.NewDesc("sunomi_raft_applied_index", "Index of the last log entry applied to this coordinator's state machine.", nil, nil),
	}
}

func (c *raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.leader, c.state, c.term, c.commit, c.app} {
		ch <- d
	}
}

// raftStates are Raft's states as the state label spells them.
var raftStates = []raft.RaftState{raft.Follower, raft.Candidate, raft.Leader, raft.Shutdown}

func (c *raftCollector) Collect(ch chan<- prometheus.Metric) {
	// Before Start there is no Raft: a follower at term 0, as far as
	// anyone scraping can tell.
	state, term, commit, applied := raft.Follower, uint64(0), uint64(0), uint64(0)
	if r := c.n.raft; r != nil {
		state, term, commit, applied = r.State(), r.CurrentTerm(), r.CommitIndex(), r.AppliedIndex()
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(c.leader, b2f(state == raft.Leader))
	for _, s := range raftStates {
		gauge(c.state, b2f(state == s), raftStateLabel(s))
	}
	gauge(c.term, float64(term))
	gauge(c.commit, float64(commit))
	gauge(c.app, float64(applied))
}

func raftStateLabel(s raft.RaftState) string {
	switch s {
	case raft.Follower:
		return "follower"
	case raft.Candidate:
		return "candidate"
	case raft.Leader:
		return "leader"
	}
	return "shutdown"
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// stateCollector counts jobs, agents, their slots and unfinished tasks by
// state at scrape time, from the replicated state machine.
type stateCollector struct {
	n                          *Node
	jobs, agents, slots, tasks *prometheus.Desc
}

func newStateCollector(n *Node) *stateCollector {
	return &stateCollector{n: n,
		jobs:   prometheus.NewDesc("sunomi_scheduler_jobs", "Jobs by state.", []string{"state"}, nil),
		agents: prometheus.NewDesc("sunomi_scheduler_agents", "Agents by state.", []string{"state"}, nil),
		slots:  prometheus.NewDesc("sunomi_scheduler_slots", "Task slots of alive and draining agents.", nil, nil),
		tasks: prometheus.NewDesc("sunomi_scheduler_tasks", "Unfinished tasks of active jobs by state (pending, leased, running), kind and the video codec encoded (h264, av1, none); AV1 tasks wait by design for idle capacity.",
			[]string{"state", "kind", "codec"}, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobs, c.agents, c.slots, c.tasks} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	jobs, unfinished := c.n.fsm.Census()
	byState := zeros(jobStates)
	for state, n := range jobs {
		byState[media.Bounded(string(state), jobStates)] += float64(n)
	}
	for s, v := range byState {
		gauge(c.jobs, v, s)
	}

	byState = zeros(agentStates)
	slots := 0
	for _, a := range c.n.fsm.Agents() {
		byState[media.Bounded(string(a.State), agentStates)]++
		if a.State == scheduler.AgentAlive || a.State == scheduler.AgentDraining {
			slots += a.Slots
		}
	}
	for s, v := range byState {
		gauge(c.agents, v, s)
	}
	gauge(c.slots, float64(slots))

	// Finished jobs have no unfinished tasks: Census counts the active
	// jobs' tasks only.
	type key struct{ state, kind, codec string }
	tasks := map[key]float64{}
	for _, s := range taskStates {
		for _, k := range scheduler.TaskKinds() {
			kind, codec := k.MetricLabels()
			tasks[key{s, kind, codec}] = 0
		}
	}
	for tc, n := range unfinished {
		if slices.Contains(taskStates, string(tc.State)) {
			kind, codec := tc.Kind.MetricLabels()
			tasks[key{string(tc.State), kind, codec}] += float64(n)
		}
	}
	for k, v := range tasks {
		gauge(c.tasks, v, k.state, k.kind, k.codec)
	}
}

func zeros(keys []string) map[string]float64 {
	m := make(map[string]float64, len(keys)+1)
	for _, k := range keys {
		m[k] = 0
	}
	return m
}
