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

// TestWallTimeSplit: the time that cells (processes) spent training and loading models is summed in the kernel's
// ledger and said by WallTime; StartClock (a new run of the notebook) forgets it.
func TestWallTimeSplit(t *testing.T) {
	t.Setenv(protocol.GONB_TMP_DIR_ENV, t.TempDir())
	if err := StartClock(); err != nil {
		t.Fatal(err)
	}
	recordSince(time.Now().Add(-90*time.Second), spentTraining) // one cell trained for 1m30s
	recordSince(time.Now().Add(-4*time.Second), spentLoading)   // two cells loaded it
	recordSince(time.Now().Add(-3*time.Second), spentLoading)
	line, err := WallTime(Default, "10 minutes")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, ": 1m30s training (1 model), 7s loading trained models (2 loads), 0s the rest (expected: at most about 10 minutes") {
		t.Fatalf("WallTime = %q", line)
	}
	if err := StartClock(); err != nil {
		t.Fatal(err)
	}
	if line, _ := WallTime(Default, "1m"); !strings.Contains(line, "0s training (0 models), 0s loading trained models (0 loads)") {
		t.Fatalf("after StartClock: WallTime = %q", line)
	}
	if line, _ := WallTime(Full, "10 minutes"); !strings.Contains(line, "with the full budget") ||
		!strings.Contains(line, "(expected with the default budget: at most about 10 minutes") {
		t.Fatalf("full budget: WallTime = %q, want the expectation said to be the default budget's", line)
	}
}
