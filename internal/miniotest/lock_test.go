package miniotest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.lock")
	unlockA, err := lockFile(context.Background(), path, func() { t.Error("first locker had to wait") })
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	acquired := make(chan func())
	go func() {
		// A second open file description, as another test binary would have.
		unlockB, err := lockFile(context.Background(), path, func() { close(waiting) })
		if err != nil {
			t.Error(err)
			close(acquired)
			return
		}
		acquired <- unlockB
	}()
	select {
	case <-waiting:
	case <-acquired:
		t.Fatal("second locker got the lock while the first held it")
	case <-time.After(10 * time.Second):
		t.Fatal("second locker neither waited nor acquired")
	}
	unlockA()
	select {
	case unlockB := <-acquired:
		if unlockB != nil {
			unlockB()
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second locker did not get the lock after the first released it")
	}
}

func TestLockFileGivesUpWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.lock")
	unlock, err := lockFile(context.Background(), path, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path, func() {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("lockFile err = %v, want context.DeadlineExceeded", err)
	}
}
