package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sunomi/sunomi/cluster/wire"
	"github.com/sunomi/sunomi/media"
)

// A split task reports the plan's head — the ladder and the first chunk —
// before it has read the whole source (pipeline.WithHead): the child writes
// the head's split result into head.json, beside result.json, with the
// first chunk's file already in out/, and prints headLine; the agent
// uploads the head's files and posts the head, while the child reads on.
// The attempt's completion waits for that report, and reports the head's
// files again with the rest of its outputs.
const (
	headFile = "head.json"
	headLine = "head\n"
)

// writeHead is the child's side: head.json, then the line.
func writeHead(path string, head json.RawMessage) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, head, 0o644); err != nil {
		return fmt.Errorf("write the split's head: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write the split's head: %w", err)
	}
	_, err := fmt.Print(headLine)
	return err
}

// startHeadReport reports the head in the background; the attempt waits
// for it (attempt.heads) before it uploads and completes.
func (a *Agent) startHeadReport(att *attempt) {
	a.wg.Add(1)
	att.heads.Add(1)
	go func() {
		defer a.wg.Done()
		defer att.heads.Done()
		if err := a.reportHead(att); err != nil {
			// The split goes on: its completion plans every task the
			// head would have added.
			att.log.Warn("split head not reported", "error", err)
		}
	}()
}

func (a *Agent) reportHead(att *attempt) error {
	b, err := os.ReadFile(filepath.Join(att.dir, headFile))
	if err != nil {
		return err
	}
	var head media.SplitResult
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("read head.json: %w", err)
	}
	var objects []wire.Object
	files := head.Extracted.Chunks
	if head.Extracted.Audio != "" { // the audio up to the first chunk's end
		files = append(files[:len(files):len(files)], head.Extracted.Audio)
	}
	for _, name := range files {
		if !cleanName(name) {
			return fmt.Errorf("head file %q is not a clean relative path", name)
		}
		objects = append(objects, wire.Object{Name: name})
	}
	if err := a.uploadObjects(att, objects); err != nil {
		return err
	}
	att.headObjects = objects
	err = a.report(att, "head", func(ctx context.Context) error {
		return a.client.Head(ctx, wire.SplitHead{Agent: a.cfg.NodeID, AttemptRef: att.ref, Result: b, Outputs: objects})
	})
	if err == nil {
		att.log.Info("split head reported", "chunks", len(objects))
	}
	return err
}
