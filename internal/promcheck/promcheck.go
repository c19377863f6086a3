// Package promcheck reads what Sunomi's monitoring files use — the expressions of Prometheus
// rule files and Grafana dashboards — and the metric names a registry describes, so that a
// test of each service can check that every metric its dashboard or alerts query exists: a
// renamed metric must not silently blank a panel or an alert.
package promcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Described lists the metric names reg's collectors describe, whether or not they have
// samples yet.
func Described(reg prometheus.Collector) (map[string]bool, error) {
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	names := map[string]bool{}
	var err error
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		if m == nil {
			err = fmt.Errorf("no name in %s", d)
			continue
		}
		names[m[1]] = true
	}
	return names, err
}

var metricName = regexp.MustCompile(`\bsunomi_[a-z_]+`)

// Names are the sunomi_ metrics expr uses, each histogram series (_bucket, _sum, _count)
// named by its histogram.
func Names(expr string) []string {
	var out []string
	for _, n := range metricName.FindAllString(expr, -1) {
		out = append(out, histogramBase(n))
	}
	return out
}

func histogramBase(name string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, s); ok {
			return b
		}
	}
	return name
}

// Rule is one alert of a rule file.
type Rule struct {
	Alert  string            `yaml:"alert"`
	Expr   string            `yaml:"expr"`
	For    string            `yaml:"for"`
	Labels map[string]string `yaml:"labels"`
}

// Rules reads the alerts of a Prometheus rule file, and what is wrong with them: an alert
// without a name, an expression or a severity, or an unreadable `for`.
func Rules(path string) (rules []Rule, problems []string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var file struct {
		Groups []struct {
			Rules []Rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || strings.TrimSpace(r.Expr) == "" || r.Labels["severity"] == "" {
				problems = append(problems, fmt.Sprintf("rule %+v: want an alert name, an expression and a severity", r))
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					problems = append(problems, fmt.Sprintf("alert %s: for %q: %v", r.Alert, r.For, err))
				}
			}
			rules = append(rules, r)
		}
	}
	return rules, problems, nil
}

// Dashboard is what the checks read of a Grafana dashboard.
type Dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []Panel `json:"panels"`
}

// Panel is a dashboard's panel; a collapsed row holds its panels.
type Panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []Panel `json:"panels"`
}

// ReadDashboard reads a Grafana dashboard's JSON, its panels' expressions, and what is wrong
// with it: no uid or title, a schema older than Grafana 9's, a panel id used twice, a panel
// that queries nothing or has an empty query.
func ReadDashboard(path string) (d Dashboard, exprs []string, problems []string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return d, nil, nil, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 {
		problems = append(problems, fmt.Sprintf("uid %q title %q schemaVersion %d, want both set and a schema of Grafana 9 or later", d.UID, d.Title, d.SchemaVersion))
	}
	ids := map[int]bool{}
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			if ids[p.ID] {
				problems = append(problems, fmt.Sprintf("panel id %d used twice", p.ID))
			}
			ids[p.ID] = true
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				problems = append(problems, fmt.Sprintf("panel %q queries nothing", p.Title))
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					problems = append(problems, fmt.Sprintf("panel %q has an empty query", p.Title))
				}
				exprs = append(exprs, tg.Expr)
			}
		}
	}
	walk(d.Panels)
	return d, exprs, problems, nil
}
