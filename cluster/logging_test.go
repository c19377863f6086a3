package cluster

import (
	"bytes"
	"encoding/json"
	"log"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// records decodes a JSON handler's output, one record a line.
func records(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestHCLogAdapter(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := newHCLogger(l, "raft")
	h.Trace("not shown")
	h.Debug("not shown either")
	h.Info("entering follower state", "follower", "n1", "leader-id", "")
	h.Named("snapshot").With("path", "/data").Warn("slow")
	h.Error("failed to contact", "server-id", "n2")
	h.StandardLogger(nil).Print("[ERR] raft-net: failed to accept connection")
	if h.IsDebug() || !h.IsInfo() || h.GetLevel() != hclog.Info || h.Name() != "raft" {
		t.Errorf("levels: debug %v info %v level %v name %q", h.IsDebug(), h.IsInfo(), h.GetLevel(), h.Name())
	}

	got := records(t, &buf)
	want := []map[string]any{
		{"level": "INFO", "msg": "entering follower state", "component": "raft", "follower": "n1", "leader-id": ""},
		{"level": "WARN", "msg": "slow", "component": "raft", "logger": "raft.snapshot", "path": "/data"},
		{"level": "ERROR", "msg": "failed to contact", "component": "raft", "server-id": "n2"},
		{"level": "ERROR", "msg": "raft-net: failed to accept connection", "component": "raft"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("record %d: %s = %v, want %v (%v)", i, k, got[i][k], v, got[i])
			}
		}
	}
}

func TestLevelWriter(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	std := log.New(levelWriter{l}, "", 0)
	std.Print("[DEBUG] memberlist: stream connection from=127.0.0.1:1234")
	std.Print("[WARN] memberlist: was able to connect to n2 over TCP but not UDP")
	std.Print("[ERR] memberlist: failed to send ping")
	std.Print("no prefix")
	var levels, msgs []string
	for _, r := range records(t, &buf) {
		levels = append(levels, r["level"].(string))
		msgs = append(msgs, r["msg"].(string))
	}
	if want := []string{"DEBUG", "WARN", "ERROR", "INFO"}; strings.Join(levels, ",") != strings.Join(want, ",") {
		t.Errorf("levels: got %v, want %v", levels, want)
	}
	if msgs[1] != "memberlist: was able to connect to n2 over TCP but not UDP" {
		t.Errorf("message: got %q", msgs[1])
	}
}
