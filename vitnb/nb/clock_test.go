package nb

import (
	"strings"
	"testing"
	"time"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// TestClockAcrossCells: the start time written by one GoNB cell (a process) is read by a later one, which here
// is the same process reading the kernel's file.
func TestClockAcrossCells(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(protocol.GONB_TMP_DIR_ENV, dir)
	if _, err := Elapsed(); err == nil || !strings.Contains(err.Error(), "budget cell") {
		t.Fatalf("Elapsed before StartClock: err = %v, want one naming the budget cell", err)
	}
	if err := StartClock(); err != nil {
		t.Fatal(err)
	}
	clockMu.Lock()
	clockStart = time.Time{} // a new cell: nothing in memory
	clockMu.Unlock()
	time.Sleep(20 * time.Millisecond)
	d, err := Elapsed()
	if err != nil || d < 20*time.Millisecond || d > time.Minute {
		t.Fatalf("Elapsed = %v, %v; want about 20ms", d, err)
	}
	line, err := WallTime(Default, "10m")
	if err != nil || !strings.Contains(line, "ran in 0s with the default budget") || !strings.Contains(line, "10m") {
		t.Fatalf("WallTime = %q, %v", line, err)
	}
}

func TestClockOutsideNotebook(t *testing.T) {
	t.Setenv(protocol.GONB_TMP_DIR_ENV, "")
	if err := StartClock(); err != nil {
		t.Fatal(err)
	}
	if d, err := Elapsed(); err != nil || d > time.Minute {
		t.Fatalf("Elapsed = %v, %v", d, err)
	}
}
