package api

import (
	"context"
	"fmt"
	"testing"

	"github.com/sunomi/sunomi/api/store"
)

// TestTranscodeWarningsForOwner checks that what the farm's job reported about a video's source
// reaches its owner and moderators on GET /videos/{id}, and nobody else.
func TestTranscodeWarningsForOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, viewer, mod := e.user("owner"), e.user("viewer"), e.moderator()
	id := e.readyVideo(owner, store.Public, "damaged upload")
	if got := e.apiVideo(id, owner.Token).TranscodeWarnings; got != nil {
		t.Fatalf("owner sees transcodeWarnings %q before any were recorded, want none", *got)
	}
	warnings := []string{"chunk 0: 1 frame could not be decoded (at 0.000 s); repeated pictures fill their place"}
	if err := e.db.RecordTranscodeWarnings(context.Background(), id, warnings); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		want        bool
	}{
		{"owner", owner.Token, true},
		{"moderator", mod.Token, true},
		{"another user", viewer.Token, false},
		{"anonymous", "", false},
	} {
		got := e.apiVideo(id, tc.token).TranscodeWarnings
		switch {
		case tc.want && (got == nil || !equal(*got, warnings)):
			t.Errorf("%s sees transcodeWarnings %v, want %q", tc.name, got, warnings)
		case !tc.want && got != nil:
			t.Errorf("%s sees transcodeWarnings %q, want none", tc.name, *got)
		}
	}
}

// TestRecordTranscodeWarningsBounded checks that a badly damaged upload's many warnings are cut
// to the first MaxTranscodeWarnings and a count of the rest, and that recording replaces.
func TestRecordTranscodeWarningsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.readyVideo(e.user("owner"), store.Public, "very damaged upload")
	ctx := context.Background()
	var many []string
	for i := range store.MaxTranscodeWarnings + 7 {
		many = append(many, fmt.Sprintf("chunk %d: damaged", i))
	}
	for _, rec := range []struct {
		warnings []string
		want     []string
	}{
		{many, append(many[:store.MaxTranscodeWarnings:store.MaxTranscodeWarnings], "and 7 more")},
		{many[:2], many[:2]},
		{nil, []string{}},
	} {
		if err := e.db.RecordTranscodeWarnings(ctx, id, rec.warnings); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.TranscodeWarnings(ctx, id)
		if err != nil || !equal(got, rec.want) || len(got) != len(rec.want) {
			t.Errorf("after recording %d warnings: got %d %q (%v), want %d", len(rec.warnings), len(got), got, err, len(rec.want))
		}
	}
	if got, err := e.db.TranscodeWarnings(ctx, "no-such-video"); err != nil || len(got) != 0 {
		t.Errorf("TranscodeWarnings of a missing video = %q, %v; want none", got, err)
	}
}
