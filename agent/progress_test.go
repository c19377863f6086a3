package agent

import (
	"bytes"
	"slices"
	"testing"
)

func TestProgressWriterSplitsReportsFromOutput(t *testing.T) {
	var rest bytes.Buffer
	var got []int64
	w := &progressWriter{rest: &rest, report: func(n int64) { got = append(got, n) }}
	// Writes cut lines anywhere, as pipes do.
	for _, chunk := range []string{"progress 2", "5\nsome libav", " warning\nprogress 50\n", "progress x\nprogress 75\n"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if want := []int64{25, 50, 75}; !slices.Equal(got, want) {
		t.Errorf("reports = %v, want %v", got, want)
	}
	if got, want := rest.String(), "some libav warning\nprogress x\n"; got != want {
		t.Errorf("passed on %q, want %q", got, want)
	}
}
