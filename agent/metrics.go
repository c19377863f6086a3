package agent

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sunomi/sunomi/media"
	"github.com/sunomi/sunomi/scheduler"
)

// metrics are the agent's own, on Config.Registry; labels stay bounded
// (kinds, outcomes, encoders, rungs, directions — never task or job IDs;
// the scrape target tells agents apart).
type metrics struct {
	transferBytes *prometheus.CounterVec
	// taskDuration is how long task processes ran, by kind and outcome.
	taskDuration *prometheus.HistogramVec
	// encodeSpeed is media seconds per second of encode processes that
	// succeeded, by the encoder that ran and the ladder's top rung.
	encodeSpeed *prometheus.HistogramVec
}

// Label values of the agent's metrics.
const (
	outcomeDone     = "done"
	outcomeFailed   = "failed"
	outcomeCanceled = "canceled" // abandoned, handed back or stopped by a drain
	directionDown   = "download"
	directionUp     = "upload"
)

// newMetrics registers the agent's metrics on reg; the slot gauges read a
// at scrape time.
func newMetrics(reg prometheus.Registerer, a *Agent) (*metrics, error) {
	m := &metrics{
		transferBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunomi_agent_transfer_bytes_total",
			Help: "Bytes of task inputs downloaded and of outputs uploaded (uploads counted once storage accepted them)."},
			[]string{"direction"}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sunomi_agent_task_duration_seconds",
			Help: "How long task processes ran, from taking a slot to exiting, by kind, outcome and the video codec encoded (h264, av1, none).",
			// 0.25 s to 2.3 h.
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 16)}, []string{"kind", "outcome", "codec"}),
		encodeSpeed: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sunomi_agent_encode_speed_ratio",
			Help: "Media seconds per second of successful encode processes, by the encoder that ran, the ladder's top rung and the codec.",
			// 0.05× to 49×.
			Buckets: prometheus.ExponentialBuckets(0.05, 1.5, 18)}, []string{"encoder", "rung", "codec"}),
	}
	for _, d := range []string{directionDown, directionUp} {
		m.transferBytes.WithLabelValues(d)
	}
	for _, k := range scheduler.TaskKinds() {
		kind, codec := k.MetricLabels()
		for _, o := range []string{outcomeDone, outcomeFailed, outcomeCanceled} {
			m.taskDuration.WithLabelValues(kind, o, codec)
		}
	}
	collectors := []prometheus.Collector{
		m.transferBytes, m.taskDuration, m.encodeSpeed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sunomi_agent_slots", Help: "Tasks this agent runs at once."},
			func() float64 { return float64(a.cfg.Slots) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sunomi_agent_slots_busy", Help: "Slots with a task process running."},
			func() float64 { return float64(a.Busy()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sunomi_agent_attempts_held",
			Help: "Attempts the agent holds: downloading, queued for a slot (prefetched), running or reporting."},
			func() float64 { return float64(a.held()) }),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// held is how many attempts the agent holds.
func (a *Agent) held() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.attempts)
}

func (m *metrics) transferred(direction string, bytes int64) {
	if bytes > 0 {
		m.transferBytes.WithLabelValues(direction).Add(float64(bytes))
	}
}

// ran records a finished task process; canceled says the attempt itself
// was canceled (abandoned, drained, stopped), as opposed to the task failing.
func (a *Agent) ran(att *attempt, out outcome, took time.Duration) {
	kind, codec := att.asg.Kind.MetricLabels()
	result := outcomeDone
	switch {
	case out.err != nil && att.ctx.Err() != nil:
		result = outcomeCanceled
	case out.err != nil:
		result = outcomeFailed
	}
	a.metrics.taskDuration.WithLabelValues(kind, result, codec).Observe(took.Seconds())
	if result == outcomeDone && codec != scheduler.CodecLabelNone && att.asg.MediaSeconds > 0 && took > 0 {
		have := a.cfg.Encoders
		if att.asg.Encoder != "" {
			have = []string{att.asg.Encoder} // what the coordinator resolved
		}
		enc, rung := media.EncodeLabels(att.asg.Spec, have)
		a.metrics.encodeSpeed.WithLabelValues(enc, rung, codec).Observe(att.asg.MediaSeconds / took.Seconds())
	}
}
