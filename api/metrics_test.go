package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/internal/promcheck"
)

// scrape reads the service's metrics as Prometheus does, through the exposition format.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	ts := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer ts.Close()
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// value is the value of the series of family with exactly the given labels; ok is false when
// there is no such series.
func value(families map[string]*dto.MetricFamily, family string, labels map[string]string) (v float64, ok bool) {
	f := families[family]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsAfterAScriptedSession drives the API as a user does and checks the figures a
// scrape then shows: requests by route pattern (never by raw path), sign-ins, uploads, job
// submissions, WebSockets, the database pool and the videos by status.
func TestMetricsAfterAScriptedSession(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	e := newEnv(t, withConfig(func(c *Config) { c.Metrics = reg }))

	owner := e.user("metrics")
	const views = 3
	created := e.upload(owner.Token, "Counted", []byte("not really a video"))
	id := created.VideoId
	e.must(http.StatusOK, "POST", "/api/v1/uploads/"+id+"/complete", owner.Token, nil)
	for range views {
		e.must(http.StatusOK, "GET", "/api/v1/videos/"+id, owner.Token, nil)
	}
	e.must(http.StatusNotFound, "GET", "/api/v1/videos/nosuchvideo", "", nil)
	e.must(http.StatusNotFound, "GET", "/api/v1/no/such/endpoint", "", nil)

	// Wrong passwords until the account is throttled.
	failures := 0
	for {
		r := e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": owner.User.Username, "password": "wrong password"})
		if r.status == http.StatusTooManyRequests {
			break
		}
		if r.status != http.StatusUnauthorized || failures > 20 {
			t.Fatalf("wrong password %d: status %d, want 401 and then 429", failures+1, r.status)
		}
		failures++
	}

	// A WebSocket counts as open while it is.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sock := countsSocket(t, ctx, e.URL, id, owner.Token)
	eventually(t, 5*time.Second, "the WebSocket counted", func() bool {
		v, _ := value(scrape(t, reg), "sunomi_api_websockets", nil)
		return v == 1
	})
	sock.conn.CloseNow()
	eventually(t, 5*time.Second, "the WebSocket no longer counted", func() bool {
		v, _ := value(scrape(t, reg), "sunomi_api_websockets", nil)
		return v == 0
	})

	got := scrape(t, reg)
	tests := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"sunomi_api_http_requests_total", map[string]string{"route": "/api/v1/videos/{videoId}", "method": "GET", "code": "2xx"}, views},
		{"sunomi_api_http_requests_total", map[string]string{"route": "/api/v1/videos/{videoId}", "method": "GET", "code": "4xx"}, 1},
		{"sunomi_api_http_requests_total", map[string]string{"route": "/api/v1/uploads", "method": "POST", "code": "2xx"}, 1},
		{"sunomi_api_http_requests_total", map[string]string{"route": routeUnmatched, "method": "GET", "code": "4xx"}, 1},
		{"sunomi_api_http_requests_total", map[string]string{"route": "/api/v1/auth/login", "method": "POST", "code": "4xx"}, float64(failures + 1)},
		{"sunomi_api_http_requests_total", map[string]string{"route": "/api/v1/videos/{videoId}/events", "method": "GET", "code": "1xx"}, 1},
		{"sunomi_api_http_request_duration_seconds", map[string]string{"route": "/api/v1/videos/{videoId}", "method": "GET", "code": "2xx"}, views},
		{"sunomi_api_http_requests_in_flight", nil, 0},
		{"sunomi_api_logins_total", map[string]string{"outcome": loginFailed}, float64(failures)},
		{"sunomi_api_logins_total", map[string]string{"outcome": loginThrottled}, 1},
		{"sunomi_api_logins_total", map[string]string{"outcome": loginSucceeded}, 0},
		{"sunomi_api_uploads_total", map[string]string{"outcome": uploadStarted}, 1},
		{"sunomi_api_uploads_total", map[string]string{"outcome": uploadCompleted}, 1},
		{"sunomi_api_uploads_total", map[string]string{"outcome": uploadFailed}, 0},
		// The test's farm is down: the submission fails, to be retried.
		{"sunomi_api_jobs_submitted_total", map[string]string{"outcome": jobSubmitted}, 0},
		{"sunomi_api_videos", map[string]string{"status": "queued"}, 1},
		{"sunomi_api_videos", map[string]string{"status": "ready"}, 0},
		{"sunomi_api_db_max_connections", nil, float64(e.db.Pool().Config().MaxConns)},
	}
	for _, tt := range tests {
		v, ok := value(got, tt.family, tt.labels)
		if !ok {
			t.Errorf("no series %s%v", tt.family, tt.labels)
		} else if v != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.family, tt.labels, v, tt.want)
		}
	}
	if v, _ := value(got, "sunomi_api_jobs_submitted_total", map[string]string{"outcome": jobError}); v < 1 {
		t.Errorf("job submissions that failed: %v, want at least 1", v)
	}
	if v, _ := value(got, "sunomi_api_db_acquires_total", nil); v < 1 {
		t.Errorf("database acquires: %v, want some", v)
	}
	if _, ok := value(got, "sunomi_api_screening_total", map[string]string{"outcome": screeningHeld}); !ok {
		t.Error("no series of held screenings from the start")
	}

	// Bounded labels: no series is named after a video, whatever was requested.
	for name, f := range got {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), id) || strings.Contains(l.GetValue(), "nosuchvideo") || strings.Contains(l.GetValue(), "/no/such") {
					t.Errorf("%s has a raw path in label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

// TestMetricsUsedByDashboardAndRulesExist checks that every metric the API's Grafana dashboard
// and alert rules query is one the service registers (the farm's files have their test in
// cluster/), and that Prometheus scrapes the service and loads its rules.
func TestMetricsUsedByDashboardAndRulesExist(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if _, err := newMetrics(reg, nil, nil); err != nil { // Describe reads no database
		t.Fatal(err)
	}
	registered, err := promcheck.Described(reg)
	if err != nil {
		t.Fatal(err)
	}
	deploy := filepath.Join("..", "deploy")
	exprs := map[string][]string{} // file → its expressions

	rules, problems, err := promcheck.Rules(filepath.Join(deploy, "prometheus", "api-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, r := range rules {
		alerts = append(alerts, r.Alert)
		exprs["api-rules.yml"] = append(exprs["api-rules.yml"], r.Expr)
	}
	for _, want := range []string{"SunomiAPIErrorRatio", "SunomiAPILatencyHigh", "SunomiVideosStuck"} {
		if !slices.Contains(alerts, want) {
			problems = append(problems, "api-rules.yml has no alert "+want)
		}
	}

	dash, dashExprs, dashProblems, err := promcheck.ReadDashboard(filepath.Join(deploy, "grafana", "api.json"))
	if err != nil {
		t.Fatal(err)
	}
	exprs["api.json"] = dashExprs
	problems = append(problems, dashProblems...)
	if dash.UID == "sunomi-farm" {
		problems = append(problems, "api.json has the farm dashboard's uid")
	}

	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	b, err := os.ReadFile(filepath.Join(deploy, "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &prom); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(prom.RuleFiles, "api-rules.yml") {
		problems = append(problems, fmt.Sprintf("prometheus.yml rule_files %v, want api-rules.yml", prom.RuleFiles))
	}
	if !slices.ContainsFunc(prom.ScrapeConfigs, func(sc struct {
		JobName string `yaml:"job_name"`
	}) bool {
		return sc.JobName == "sunomi-api"
	}) {
		problems = append(problems, "prometheus.yml has no sunomi-api job")
	}
	for _, p := range problems {
		t.Error(p)
	}

	for file, es := range exprs {
		used := map[string]bool{}
		for _, e := range es {
			for _, name := range promcheck.Names(e) {
				used[name] = true
				if !registered[name] {
					t.Errorf("%s uses %s, which the API does not register: %s", file, name, e)
				}
			}
		}
		if len(used) == 0 {
			t.Errorf("%s uses no sunomi metric", file)
		}
	}
	// The dashboard shows every metric the service has.
	dashboardUses := map[string]bool{}
	for _, e := range exprs["api.json"] {
		for _, name := range promcheck.Names(e) {
			dashboardUses[name] = true
		}
	}
	for name := range registered {
		if !dashboardUses[name] {
			t.Errorf("api.json shows nothing of %s", name)
		}
	}
}

// TestObserveScreening checks the verdict each published video is counted under.
func TestObserveScreening(t *testing.T) {
	tests := []struct {
		name string
		v    store.Video
		want string
	}{
		{"passed", store.Video{Screening: store.ScreeningPassed, Moderation: store.ModerationOK}, screeningPassed},
		{"content warnings", store.Video{Screening: store.ScreeningPassed, Moderation: store.ModerationRestricted}, screeningRestricted},
		{"held", store.Video{Screening: store.ScreeningHeld, Moderation: store.ModerationHeld}, screeningHeld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := newMetrics(prometheus.NewPedanticRegistry(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			m.observeScreening(tt.v)
			for _, outcome := range []string{screeningPassed, screeningRestricted, screeningHeld} {
				want := 0.0
				if outcome == tt.want {
					want = 1
				}
				if got := testutil.ToFloat64(m.screening.WithLabelValues(outcome)); got != want {
					t.Errorf("%s: got %v, want %v", outcome, got, want)
				}
			}
		})
	}
}
