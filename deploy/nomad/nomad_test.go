package nomad

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/sunomi/sunomi/internal/testkit"
)

// The job files this directory must hold; any other *.nomad.hcl is parsed
// and checked generically too.
var wantFiles = []string{
	"coordinator.nomad.hcl",
	"agent-cpu.nomad.hcl",
	"agent-gpu.nomad.hcl",
	"api.nomad.hcl",
}

// parse parses HCL native syntax (what Nomad's HCL2 job files are written in)
// and returns the low-level body.
func parse(name string, src []byte) (*hclsyntax.Body, hcl.Diagnostics) {
	f, diags := hclparse.NewParser().ParseHCL(src, name)
	if f == nil {
		return nil, diags
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "not native HCL syntax"})
	}
	return body, diags
}

func blocks(b *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			out = append(out, blk)
		}
	}
	return out
}

// one returns the single block of a type, or an error naming how many there are.
func one(b *hclsyntax.Body, typ string) (*hclsyntax.Block, error) {
	bs := blocks(b, typ)
	if len(bs) != 1 {
		return nil, fmt.Errorf("%d %q blocks at %s, want exactly 1", len(bs), typ, b.SrcRange)
	}
	return bs[0], nil
}

// jobBlock returns the file's only job block.
func jobBlock(b *hclsyntax.Body) (*hclsyntax.Block, error) {
	job, err := one(b, "job")
	if err != nil {
		return nil, err
	}
	if len(job.Labels) != 1 || job.Labels[0] == "" {
		return nil, fmt.Errorf("job block at %s has labels %q, want one name", job.DefRange(), job.Labels)
	}
	return job, nil
}

// literal evaluates an attribute that must be a constant (no variables, no
// functions).
func literal(b *hclsyntax.Body, name string) (cty.Value, error) {
	a, ok := b.Attributes[name]
	if !ok {
		return cty.NilVal, fmt.Errorf("no %q attribute at %s", name, b.SrcRange)
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%q at %s is not a constant: %s", name, a.SrcRange, diags.Error())
	}
	return v, nil
}

func literalString(b *hclsyntax.Body, name string) (string, error) {
	v, err := literal(b, name)
	if err != nil {
		return "", err
	}
	if v.Type() != cty.String || v.IsNull() {
		return "", fmt.Errorf("%q at %s is %s, want a string", name, b.Attributes[name].SrcRange, v.Type().FriendlyName())
	}
	return v.AsString(), nil
}

func literalInt(b *hclsyntax.Body, name string) (int64, error) {
	v, err := literal(b, name)
	if err != nil {
		return 0, err
	}
	if v.Type() != cty.Number || v.IsNull() {
		return 0, fmt.Errorf("%q at %s is %s, want a number", name, b.Attributes[name].SrcRange, v.Type().FriendlyName())
	}
	i, acc := v.AsBigFloat().Int64()
	if acc != 0 {
		return 0, fmt.Errorf("%q at %s is not an integer", name, b.Attributes[name].SrcRange)
	}
	return i, nil
}

// variables returns the declared variables and their defaults (cty.NilVal
// where a variable has none).
func variables(b *hclsyntax.Body) (map[string]cty.Value, error) {
	vars := map[string]cty.Value{}
	for _, v := range blocks(b, "variable") {
		if len(v.Labels) != 1 {
			return nil, fmt.Errorf("variable block at %s has labels %q, want one name", v.DefRange(), v.Labels)
		}
		if _, dup := vars[v.Labels[0]]; dup {
			return nil, fmt.Errorf("variable %q declared twice", v.Labels[0])
		}
		def := cty.NilVal
		if _, ok := v.Body.Attributes["default"]; ok {
			var err error
			if def, err = literal(v.Body, "default"); err != nil {
				return nil, err
			}
		}
		vars[v.Labels[0]] = def
	}
	return vars, nil
}

// undeclaredVars returns every var.NAME the file uses without a variable
// block for NAME (Nomad would reject it at `nomad job run`).
func undeclaredVars(b *hclsyntax.Body) ([]string, error) {
	vars, err := variables(b)
	if err != nil {
		return nil, err
	}
	var missing []string
	hclsyntax.VisitAll(b, func(n hclsyntax.Node) hcl.Diagnostics {
		e, ok := n.(*hclsyntax.ScopeTraversalExpr)
		if !ok || e.Traversal.RootName() != "var" || len(e.Traversal) < 2 {
			return nil
		}
		attr, ok := e.Traversal[1].(hcl.TraverseAttr)
		if !ok {
			missing = append(missing, fmt.Sprintf("var[…] at %s", e.SrcRange))
			return nil
		}
		if _, ok := vars[attr.Name]; !ok {
			missing = append(missing, fmt.Sprintf("var.%s at %s", attr.Name, e.SrcRange))
		}
		return nil
	})
	return missing, nil
}

// argItem is one element of a task's args list: its constant value where it
// is one, and the variables it refers to otherwise.
type argItem struct {
	expr  hclsyntax.Expression
	lit   string
	isLit bool
	vars  []string // "var.slots", "node.unique.name", …
}

func args(task *hclsyntax.Body) ([]argItem, error) {
	cfg, err := one(task, "config")
	if err != nil {
		return nil, err
	}
	a, ok := cfg.Body.Attributes["args"]
	if !ok {
		return nil, fmt.Errorf("task config at %s has no args", cfg.DefRange())
	}
	tup, ok := a.Expr.(*hclsyntax.TupleConsExpr)
	if !ok {
		return nil, fmt.Errorf("args at %s is not a list", a.SrcRange)
	}
	var out []argItem
	for _, e := range tup.Exprs {
		it := argItem{expr: e}
		if v, diags := e.Value(nil); !diags.HasErrors() && v.Type() == cty.String {
			it.lit, it.isLit = v.AsString(), true
		}
		for _, tr := range e.Variables() {
			s := tr.RootName()
			for _, step := range tr[1:] {
				if at, ok := step.(hcl.TraverseAttr); ok {
					s += "." + at.Name
				}
			}
			it.vars = append(it.vars, s)
		}
		out = append(out, it)
	}
	return out, nil
}

// duration evaluates a constant duration string or a reference to a
// variable's default.
func duration(vars map[string]cty.Value, e hclsyntax.Expression) (time.Duration, error) {
	v, diags := e.Value(nil)
	if diags.HasErrors() {
		tr, ok := e.(*hclsyntax.ScopeTraversalExpr)
		if !ok || tr.Traversal.RootName() != "var" || len(tr.Traversal) != 2 {
			return 0, fmt.Errorf("%s: neither a constant nor var.NAME", e.Range())
		}
		name := tr.Traversal[1].(hcl.TraverseAttr).Name
		if v, ok = vars[name]; !ok || v == cty.NilVal {
			return 0, fmt.Errorf("%s: variable %q has no default", e.Range(), name)
		}
	}
	if v.IsNull() || v.Type() != cty.String {
		return 0, fmt.Errorf("%s: not a string", e.Range())
	}
	return time.ParseDuration(v.AsString())
}

// flagValue returns the element after --name in args.
func flagValue(items []argItem, name string) (argItem, bool) {
	for i, it := range items {
		if it.isLit && it.lit == "--"+name && i+1 < len(items) {
			return items[i+1], true
		}
	}
	return argItem{}, false
}

// checkFlagsExist checks that every --flag in args is one the binary (cmd/NAME, built once
// per test run) lists in its --help: a renamed or mistyped flag fails here instead of at the
// first deployment, wherever the command defines its flags.
func checkFlagsExist(t *testing.T, items []argItem, binary string) {
	t.Helper()
	if testing.Short() {
		t.Log("flags not cross-checked with -short: that builds the binaries")
		return
	}
	help, err := exec.Command(testkit.Build(t, binary), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", binary, err, help)
	}
	for _, it := range items {
		if !it.isLit || !strings.HasPrefix(it.lit, "--") {
			continue
		}
		name := strings.TrimPrefix(it.lit, "--")
		if !regexp.MustCompile(`(^|[\s,])--` + regexp.QuoteMeta(name) + `([\s=,]|$)`).Match(help) {
			t.Errorf("%s: flag --%s is not in its --help", binary, name)
		}
	}
}

func loadJob(t *testing.T, file string) (body *hclsyntax.Body, job *hclsyntax.Block, src []byte) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	body, diags := parse(file, src)
	if len(diags) > 0 {
		t.Fatalf("%s: %s", file, diags.Error())
	}
	job, err = jobBlock(body)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return body, job, src
}

// must turns a (value, error) pair into the value, failing the test on an
// error: must(one(b, "group"))(t).
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// onlyGroupTask returns the job's single group and that group's single task.
func onlyGroupTask(t *testing.T, job *hclsyntax.Block) (group, task *hclsyntax.Body) {
	t.Helper()
	g := must(one(job.Body, "group"))(t)
	tk := must(one(g.Body, "task"))(t)
	return g.Body, tk.Body
}

// staticPorts returns the group network's ports by label (0 for dynamic).
func staticPorts(t *testing.T, group *hclsyntax.Body) map[string]int64 {
	t.Helper()
	nw := must(one(group, "network"))(t)
	ports := map[string]int64{}
	for _, p := range blocks(nw.Body, "port") {
		if len(p.Labels) != 1 {
			t.Fatalf("port block at %s has labels %q", p.DefRange(), p.Labels)
		}
		if _, ok := p.Body.Attributes["static"]; ok {
			v, err := literalInt(p.Body, "static")
			if err != nil {
				v = -1 // set from a variable
			}
			ports[p.Labels[0]] = v
		} else {
			ports[p.Labels[0]] = 0
		}
	}
	return ports
}

// healthChecks returns the http check paths of the group's (and its tasks')
// services.
func healthChecks(group *hclsyntax.Body) []string {
	var paths []string
	svcs := blocks(group, "service")
	for _, tk := range blocks(group, "task") {
		svcs = append(svcs, blocks(tk.Body, "service")...)
	}
	for _, s := range svcs {
		for _, c := range blocks(s.Body, "check") {
			if typ, _ := literalString(c.Body, "type"); typ != "http" {
				continue
			}
			if p, err := literalString(c.Body, "path"); err == nil {
				paths = append(paths, p)
			}
		}
	}
	return paths
}

func TestJobFilesExist(t *testing.T) {
	for _, f := range wantFiles {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}

// TestParseAll parses every job file and fails on any diagnostic, then
// applies the checks every job shares.
func TestParseAll(t *testing.T) {
	files, err := filepath.Glob("*.nomad.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(wantFiles) {
		t.Fatalf("found %v, want at least %v", files, wantFiles)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			p := hclparse.NewParser()
			f, diags := p.ParseHCLFile(file)
			for _, d := range diags {
				t.Errorf("%s", d.Error())
			}
			if f == nil || diags.HasErrors() {
				t.FailNow()
			}
			body, job, _ := loadJob(t, file)

			missing, err := undeclaredVars(body)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range missing {
				t.Errorf("undeclared variable %s", m)
			}
			for _, blk := range body.Blocks {
				if blk.Type != "job" && blk.Type != "variable" && blk.Type != "locals" {
					t.Errorf("unexpected top-level %q block at %s", blk.Type, blk.DefRange())
				}
			}
			if _, ok := job.Body.Attributes["datacenters"]; !ok {
				t.Error("job has no datacenters")
			}
			typ := must(literalString(job.Body, "type"))(t)
			if !slices.Contains([]string{"service", "system", "batch"}, typ) {
				t.Errorf("job type %q", typ)
			}
			groups := blocks(job.Body, "group")
			if len(groups) == 0 {
				t.Fatal("job has no group")
			}
			for _, g := range groups {
				tasks := blocks(g.Body, "task")
				if len(tasks) == 0 {
					t.Errorf("group %q has no task", g.Labels)
				}
				for _, tk := range tasks {
					driver := must(literalString(tk.Body, "driver"))(t)
					if driver != "exec" && driver != "raw_exec" {
						t.Errorf("task %q: driver %q, want exec or raw_exec", tk.Labels, driver)
					}
					cfg := must(one(tk.Body, "config"))(t)
					cmd := must(literalString(cfg.Body, "command"))(t)
					// The command is the file an artifact block downloads.
					var fetched []string
					for _, a := range blocks(tk.Body, "artifact") {
						if _, ok := a.Body.Attributes["source"]; !ok {
							t.Errorf("artifact at %s has no source", a.DefRange())
						}
						if d, err := literalString(a.Body, "destination"); err == nil {
							fetched = append(fetched, d)
						}
					}
					if !slices.Contains(fetched, cmd) {
						t.Errorf("task %q runs %q, which no artifact block fetches (%q)", tk.Labels, cmd, fetched)
					}
					if _, err := literalString(tk.Body, "kill_signal"); err != nil {
						t.Errorf("task %q: %v", tk.Labels, err)
					}
					if _, err := one(tk.Body, "resources"); err != nil {
						t.Errorf("task %q: %v", tk.Labels, err)
					}
				}
			}
		})
	}
}

func TestCoordinator(t *testing.T) {
	body, job, _ := loadJob(t, "coordinator.nomad.hcl")
	if typ := must(literalString(job.Body, "type"))(t); typ != "service" {
		t.Errorf("type %q, want service", typ)
	}
	if n := len(blocks(job.Body, "group")); n != 1 {
		t.Fatalf("%d groups, want 1", n)
	}
	group, task := onlyGroupTask(t, job)
	if n := must(literalInt(group, "count"))(t); n != 3 {
		t.Errorf("count = %d, want 3", n)
	}

	distinct := false
	for _, c := range append(blocks(group, "constraint"), blocks(job.Body, "constraint")...) {
		if op, _ := literalString(c.Body, "operator"); op == "distinct_hosts" {
			v, err := literal(c.Body, "value")
			distinct = err == nil && (v.Equals(cty.StringVal("true")) == cty.True || v.Equals(cty.True) == cty.True)
		}
	}
	if !distinct {
		t.Error("no distinct_hosts constraint")
	}

	nw := must(one(group, "network"))(t)
	if mode, _ := literalString(nw.Body, "mode"); mode != "host" {
		t.Errorf("network mode %q, want host", mode)
	}
	ports := staticPorts(t, group)
	for label, want := range map[string]int64{"http": 7000, "raft": 7001, "gossip": 7002} {
		if ports[label] != want {
			t.Errorf("port %q static = %d, want %d", label, ports[label], want)
		}
	}

	dest := hostVolumeMount(t, group, task, "sunomi-coordinator")

	if !slices.Contains(healthChecks(group), "/healthz") {
		t.Error(`no http check with path "/healthz"`)
	}
	// The API port wants a client certificate, which Nomad's checks lack.
	for _, c := range blocks(must(one(group, "service"))(t).Body, "check") {
		if port, _ := literalString(c.Body, "port"); port != "health" {
			t.Errorf(`check %q on port %q, want "health" (--health-addr)`, c.Labels, port)
		}
	}
	upd := must(one(job.Body, "update"))(t)
	if n := must(literalInt(upd.Body, "max_parallel"))(t); n != 1 {
		t.Errorf("update max_parallel = %d, want 1 (a Raft quorum loses at most one voter at a time)", n)
	}
	if _, err := one(group, "restart"); err != nil {
		t.Error(err)
	}
	if _, err := one(group, "reschedule"); err != nil {
		t.Error(err)
	}

	items := must(args(task))(t)
	checkFlagsExist(t, items, "coordinator")
	if v, ok := flagValue(items, "bootstrap-expect"); !ok || v.lit != "3" {
		t.Errorf("--bootstrap-expect %q, want 3", v.lit)
	}
	if v, ok := flagValue(items, "data-dir"); !ok || v.lit != dest {
		t.Errorf("--data-dir %q, want the volume mount %q", v.lit, dest)
	}
	for flag, ref := range map[string]string{
		"http-addr":   "NOMAD_ADDR_http",
		"raft-addr":   "NOMAD_ADDR_raft",
		"gossip-addr": "NOMAD_ADDR_gossip",
		"join":        "var.coordinator_gossip",
		"storage":     "var.storage",
	} {
		v, ok := flagValue(items, flag)
		if !ok || !slices.Contains(v.vars, ref) {
			t.Errorf("--%s does not use %s (refers to %q)", flag, ref, v.vars)
		}
	}
	if v, ok := flagValue(items, "health-addr"); !ok || !slices.Contains(v.vars, "NOMAD_ADDR_health") {
		t.Errorf("--health-addr refers to %q, want NOMAD_ADDR_health", v.vars)
	}
	if _, ok := flagValue(items, "node-id"); !ok {
		t.Error("no --node-id")
	}

	vars := must(variables(body))(t)
	if _, ok := vars["coordinator_gossip"]; !ok {
		t.Error(`no variable "coordinator_gossip"`)
	}
	checkSecrets(t, task, "SUNOMI_GOSSIP_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
	hostVolumeMount(t, group, task, "sunomi-tls")
	checkTLS(t, task, items)
}

// hostVolumeMount checks that the group has a host volume of source mounted
// by the task, and returns where.
func hostVolumeMount(t *testing.T, group, task *hclsyntax.Body, source string) string {
	t.Helper()
	for _, vol := range blocks(group, "volume") {
		if src, _ := literalString(vol.Body, "source"); src != source {
			continue
		}
		if typ, _ := literalString(vol.Body, "type"); typ != "host" {
			t.Errorf("volume %s type %q, want host", source, typ)
		}
		for _, vm := range blocks(task, "volume_mount") {
			if v, _ := literalString(vm.Body, "volume"); v == vol.Labels[0] {
				return must(literalString(vm.Body, "destination"))(t)
			}
		}
		t.Fatalf("no volume_mount of the %s volume %q", source, vol.Labels[0])
	}
	t.Fatalf("no host volume with source %q", source)
	return ""
}

// checkTLS checks that a coordinator or agent gets its certificate files:
// the CA rendered from the Nomad Variable, re-read on SIGHUP when it
// changes, and the node's own certificate named after the node.
func checkTLS(t *testing.T, task *hclsyntax.Body, items []argItem) {
	t.Helper()
	ca, ok := flagValue(items, "tls-ca")
	if !ok || !slices.Contains(ca.vars, "NOMAD_SECRETS_DIR") {
		t.Errorf("--tls-ca refers to %q, want a file under NOMAD_SECRETS_DIR", ca.vars)
	}
	for _, f := range []string{"tls-cert", "tls-key"} {
		if v, ok := flagValue(items, f); !ok || !slices.Contains(v.vars, "node.unique.name") {
			t.Errorf("--%s refers to %q, want the file named after node.unique.name (the --node-id)", f, v.vars)
		}
	}
	found := false
	for _, tpl := range blocks(task, "template") {
		if dest, _ := literalString(tpl.Body, "destination"); dest != "secrets/ca.pem" {
			continue
		}
		found = true
		mode, _ := literalString(tpl.Body, "change_mode")
		sig, _ := literalString(tpl.Body, "change_signal")
		if mode != "signal" || sig != "SIGHUP" {
			t.Errorf("secrets/ca.pem template change_mode %q signal %q, want signal SIGHUP (reload without restart)", mode, sig)
		}
		a := tpl.Body.Attributes["data"]
		if data := string(a.Expr.Range().SliceBytes(mustRead(t, a.SrcRange.Filename))); !strings.Contains(data, "nomadVar") || !strings.Contains(data, ".tls_ca") {
			t.Errorf("secrets/ca.pem template %q does not read tls_ca from a Nomad Variable", data)
		}
	}
	if !found {
		t.Error("no template rendering secrets/ca.pem")
	}
}

// checkSecrets checks that a template with env = true renders each name
// from a Nomad Variable.
func checkSecrets(t *testing.T, task *hclsyntax.Body, names ...string) {
	t.Helper()
	var data string
	for _, tpl := range blocks(task, "template") {
		env, err := literal(tpl.Body, "env")
		if err != nil || env.Type() != cty.Bool || !env.True() {
			continue
		}
		a, ok := tpl.Body.Attributes["data"]
		if !ok {
			continue
		}
		// The heredoc interpolates var.secrets_path, so read its source.
		data += string(a.Expr.Range().SliceBytes(mustRead(t, a.SrcRange.Filename)))
	}
	if !strings.Contains(data, "nomadVar") {
		t.Errorf("no env template reading a Nomad Variable (nomadVar)")
	}
	for _, n := range names {
		if !strings.Contains(data, n+"=") {
			t.Errorf("env template does not set %s", n)
		}
	}
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkAgent holds what both agent jobs share: SIGTERM with a kill_timeout
// longer than the drain, a gossip port, the join list and real flags.
func checkAgent(t *testing.T, file string) (job *hclsyntax.Block, group, task *hclsyntax.Body, items []argItem) {
	t.Helper()
	body, job, _ := loadJob(t, file)
	group, task = onlyGroupTask(t, job)
	if sig := must(literalString(task, "kill_signal"))(t); sig != "SIGTERM" {
		t.Errorf("kill_signal %q, want SIGTERM (the agent drains on it)", sig)
	}

	vars := must(variables(body))(t)
	items = must(args(task))(t)
	checkFlagsExist(t, items, "agent")
	a, ok := task.Attributes["kill_timeout"]
	if !ok {
		t.Fatal("no kill_timeout")
	}
	kill := must(duration(vars, a.Expr))(t)
	drain := 5 * time.Minute // the agent's default
	if it, ok := flagValue(items, "drain-timeout"); ok {
		drain = must(duration(vars, it.expr))(t)
	}
	if kill <= drain {
		t.Errorf("kill_timeout %v is not longer than the drain timeout %v", kill, drain)
	}

	if _, ok := staticPorts(t, group)["gossip"]; !ok {
		t.Error(`no "gossip" port`)
	}
	for flag, ref := range map[string]string{
		"join":        "var.coordinator_gossip",
		"gossip-addr": "NOMAD_ADDR_gossip",
	} {
		v, ok := flagValue(items, flag)
		if !ok || !slices.Contains(v.vars, ref) {
			t.Errorf("--%s does not use %s (refers to %q)", flag, ref, v.vars)
		}
	}
	for _, f := range []string{"node-id", "data-dir", "slots"} {
		if _, ok := flagValue(items, f); !ok {
			t.Errorf("no --%s", f)
		}
	}
	checkSecrets(t, task, "SUNOMI_GOSSIP_KEY")
	checkTLS(t, task, items)
	return job, group, task, items
}

func TestAgentCPU(t *testing.T) {
	job, _, task, items := checkAgent(t, "agent-cpu.nomad.hcl")
	if typ := must(literalString(job.Body, "type"))(t); typ != "system" {
		t.Errorf("type %q, want system", typ)
	}
	if v, _ := flagValue(items, "slots"); !slices.Contains(v.vars, "var.slots") {
		t.Errorf("--slots refers to %q, want var.slots", v.vars)
	}
	// GPU nodes are excluded: some constraint with a negative operator.
	excluded := false
	for _, c := range blocks(job.Body, "constraint") {
		op, _ := literalString(c.Body, "operator")
		attr := ""
		if a, ok := c.Body.Attributes["attribute"]; ok {
			attr = string(a.Expr.Range().SliceBytes(mustRead(t, "agent-cpu.nomad.hcl")))
		}
		if (op == "!=" || op == "not" || op == "is_not_set") && strings.Contains(strings.ToLower(attr), "gpu") {
			excluded = true
		}
	}
	if !excluded {
		t.Error("no constraint keeping the CPU agents off GPU nodes")
	}
	res := must(one(task, "resources"))(t)
	if len(blocks(res.Body, "device")) != 0 {
		t.Error("the CPU agent asks for a device")
	}
}

func TestAgentGPU(t *testing.T) {
	_, _, task, items := checkAgent(t, "agent-gpu.nomad.hcl")
	res := must(one(task, "resources"))(t)
	dev := must(one(res.Body, "device"))(t)
	if len(dev.Labels) != 1 || dev.Labels[0] != "nvidia/gpu" {
		t.Errorf(`device %q, want "nvidia/gpu"`, dev.Labels)
	}
	if n := must(literalInt(dev.Body, "count"))(t); n != 1 {
		t.Errorf("device count %d, want 1", n)
	}
	if v, ok := flagValue(items, "encoder"); !ok || v.lit != "auto" {
		t.Errorf("--encoder %q, want auto (h264_nvenc where it opens)", v.lit)
	}
}

func TestAPI(t *testing.T) {
	_, job, _ := loadJob(t, "api.nomad.hcl")
	if typ := must(literalString(job.Body, "type"))(t); typ != "service" {
		t.Errorf("type %q, want service", typ)
	}
	group, task := onlyGroupTask(t, job)
	if n := must(literalInt(group, "count"))(t); n != 2 {
		t.Errorf("count = %d, want 2", n)
	}
	svcs := append(blocks(group, "service"), blocks(task, "service")...)
	if len(svcs) == 0 {
		t.Fatal("no service")
	}
	if !slices.Contains(healthChecks(group), "/healthz") {
		t.Error(`no http check with path "/healthz"`)
	}
	items := must(args(task))(t)
	if v, ok := flagValue(items, "http"); !ok || !slices.Contains(v.vars, "NOMAD_ADDR_http") {
		t.Errorf("--http refers to %q, want NOMAD_ADDR_http", v.vars)
	}
	checkFlagsExist(t, items, "api")
	checkSecrets(t, task, "DATABASE_URL")
	env := must(one(task, "env"))(t)
	for _, name := range []string{"SUNOMI_COORDINATOR", "SUNOMI_FARM_TLS_CA", "SUNOMI_FARM_TLS_CERT", "SUNOMI_FARM_TLS_KEY"} {
		if _, ok := env.Body.Attributes[name]; !ok {
			t.Errorf("env has no %s", name)
		}
	}
	rendered := map[string]bool{}
	for _, tpl := range blocks(task, "template") {
		dest, _ := literalString(tpl.Body, "destination")
		a := tpl.Body.Attributes["data"]
		if data := string(a.Expr.Range().SliceBytes(mustRead(t, a.SrcRange.Filename))); strings.Contains(data, "nomadVar") {
			rendered[dest] = true
		}
	}
	for _, f := range []string{"secrets/farm-ca.pem", "secrets/farm.pem", "secrets/farm-key.pem"} {
		if !rendered[f] {
			t.Errorf("no template renders %s from a Nomad Variable", f)
		}
	}
}

// The checks above can fail: a syntax error gives diagnostics, and broken
// structure is reported.
func TestBrokenSnippets(t *testing.T) {
	for name, src := range map[string]string{
		"unclosed block":   "job \"x\" {\n  group \"g\" {\n    count = 3\n  }\n",
		"missing value":    "job \"x\" {\n  type =\n}\n",
		"bad token":        "job \"x\" {\n  count = 3 3\n}\n",
		"unclosed string":  "job \"x\" {\n  type = \"service\n}\n",
		"unclosed heredoc": "job \"x\" {\n  data = <<EOT\n  hello\n}\n",
	} {
		_, diags := parse(name+".nomad.hcl", []byte(src))
		if !diags.HasErrors() {
			t.Errorf("%s: no error diagnostics for\n%s", name, src)
		}
	}

	two, diags := parse("two.nomad.hcl", []byte("job \"a\" {}\njob \"b\" {}\n"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := jobBlock(two); err == nil {
		t.Error("two job blocks accepted")
	}
	none, _ := parse("none.nomad.hcl", []byte("variable \"x\" {}\n"))
	if _, err := jobBlock(none); err == nil {
		t.Error("a file without a job block accepted")
	}

	undeclared, diags := parse("vars.nomad.hcl", []byte("variable \"a\" {}\njob \"j\" {\n  x = var.a\n  y = \"${var.b}\"\n}\n"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	missing, err := undeclaredVars(undeclared)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || !strings.HasPrefix(missing[0], "var.b ") {
		t.Errorf("undeclared variables %q, want var.b", missing)
	}

	notConst, _ := parse("c.nomad.hcl", []byte("job \"j\" {\n  count = var.n\n}\n"))
	job, err := jobBlock(notConst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := literalInt(job.Body, "count"); err == nil {
		t.Error("a variable reference read as a constant")
	}
	if _, err := one(job.Body, "group"); err == nil {
		t.Error("a missing group block not reported")
	}
}
