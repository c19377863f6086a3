package cluster

import (
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the coordinator's own; labels stay bounded (states, never IDs).
type metrics struct {
	leaderChanges prometheus.Counter
	applyLatency  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, n *Node) (*metrics, error) {
	m := &metrics{
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sunomi_raft_leader_changes_total", Help: "Leadership changes seen by this coordinator."}),
		applyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sunomi_raft_apply_duration_seconds", Help: "Time from proposing a command to its commit and apply.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	isLeader := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sunomi_raft_leader", Help: "1 when this coordinator is the Raft leader."},
		func() float64 {
			if n.raft != nil && n.raft.State() == raft.Leader {
				return 1
			}
			return 0
		})
	jobs := prometheus.NewDesc("sunomi_scheduler_jobs", "Jobs by state.", []string{"state"}, nil)
	agents := prometheus.NewDesc("sunomi_scheduler_agents", "Agents by state.", []string{"state"}, nil)
	states := &stateCollector{n: n, jobs: jobs, agents: agents}
	for _, c := range []prometheus.Collector{m.leaderChanges, m.applyLatency, isLeader, states} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// stateCollector counts jobs and agents by state at scrape time.
type stateCollector struct {
	n            *Node
	jobs, agents *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.jobs; ch <- c.agents }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	count := map[string]float64{}
	for _, j := range c.n.fsm.Jobs() {
		count[j.State]++
	}
	for s, v := range count {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, v, s)
	}
	count = map[string]float64{}
	for _, a := range c.n.fsm.Agents() {
		count[a.State]++
	}
	for s, v := range count {
		ch <- prometheus.MustNewConstMetric(c.agents, prometheus.GaugeValue, v, s)
	}
}
