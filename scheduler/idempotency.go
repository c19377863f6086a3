package scheduler

import (
	"errors"
	"fmt"
)

// MaxIdempotencyKey is the longest idempotency key a SubmitJob may carry, in
// bytes: keys live in the replicated state as long as their jobs.
const MaxIdempotencyKey = 200

// ErrKeyReused means a submission's idempotency key already names a job
// made from another source: the key was reused by mistake, and returning
// that job would hand the caller someone else's work.
var ErrKeyReused = errors.New("idempotency key already used for another source")

// ExistingJob is what Apply returns for a SubmitJob whose idempotency key
// already names a job: the submission created nothing, and Job is the job
// the key's first submission created.
type ExistingJob struct {
	Job string
}

// submitOnce submits a job unless the submission's idempotency key already
// names one: then it creates nothing and returns that job as an
// ExistingJob. A created job's result is nil, as without a key.
func (s *state) submitOnce(c *SubmitJob) (any, error) {
	source := c.Source
	if source == "" {
		source = c.SourceInput // as submitJob records it
	}
	prev, err := s.keyedJob(c.IdempotencyKey, source)
	if err != nil {
		return nil, err
	}
	if prev != "" {
		return ExistingJob{Job: prev}, nil
	}
	return nil, s.submitJob(c)
}

// keyedJob decides, inside Apply, whether a submission repeats an earlier
// one: two submissions with one key, racing through different coordinators
// or retried after a leader change, are ordered by the log, so the first
// creates the job and every later one gets its ID here. "" means the
// submission creates a job.
func (s *state) keyedJob(key, source string) (string, error) {
	if key == "" {
		return "", nil
	}
	if len(key) > MaxIdempotencyKey {
		return "", invalid("idempotency key is %d bytes, at most %d allowed", len(key), MaxIdempotencyKey)
	}
	id, ok := s.Keys[key]
	if !ok {
		return "", nil
	}
	if j := s.Jobs[id]; j.Source != source {
		return "", fmt.Errorf("key %q names job %q of source %q, not %q: %w", key, id, j.Source, source, ErrKeyReused)
	}
	return id, nil
}
