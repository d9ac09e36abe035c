package nb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// clockFile is the file, in the GoNB kernel's temporary folder, that holds the time StartClock was called: every
// GoNB cell is a new process, so the start of a notebook run must outlive the cell that marks it.
const clockFile = "vitnb-clock"

var (
	clockMu    sync.Mutex
	clockStart time.Time // outside a notebook: one process, kept in memory
)

// clockPath is the clock file of this GoNB kernel, or "" outside a notebook.
func clockPath() string {
	if dir := os.Getenv(protocol.GONB_TMP_DIR_ENV); dir != "" {
		return filepath.Join(dir, clockFile)
	}
	return ""
}

// StartClock marks the start of a notebook run (its budget cell calls it); ElapsedSince and WallTime measure from
// here.
func StartClock() error {
	if err := resetLedger(); err != nil {
		return err
	}
	now := time.Now()
	clockMu.Lock()
	clockStart = now
	clockMu.Unlock()
	if p := clockPath(); p != "" {
		if err := os.WriteFile(p, []byte(now.Format(time.RFC3339Nano)), 0o644); err != nil {
			return fmt.Errorf("nb: writing the notebook's start time: %w", err)
		}
	}
	return nil
}

// Elapsed returns the time since StartClock was called in this notebook (or this process).
func Elapsed() (time.Duration, error) {
	if p := clockPath(); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			return 0, fmt.Errorf("nb: no start time (run the budget cell at the top of the notebook first): %w", err)
		}
		start, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(data)))
		if err != nil {
			return 0, fmt.Errorf("nb: start time in %s: %w", p, err)
		}
		return time.Since(start), nil
	}
	clockMu.Lock()
	defer clockMu.Unlock()
	if clockStart.IsZero() {
		return 0, fmt.Errorf("nb: StartClock was not called")
	}
	return time.Since(clockStart), nil
}

// WallTime is the line a notebook prints at its end: how long it ran, with which budget, how much of it went to
// training models and to loading trained ones (TrainOrLoad, TrainCNN), and what the default budget promises
// (expected, e.g. "10m"; with another budget the line says that the expectation is the default budget's).
func WallTime(budget, expected string) (string, error) {
	d, err := Elapsed()
	if err != nil {
		return "", err
	}
	promise := "expected"
	if budget != Default { // the notebooks state what their default budget takes; quick and full are not that
		promise = "expected with the default budget"
	}
	return fmt.Sprintf("this notebook ran in %s with the %s budget: %s (%s: at most about %s on 2 CPU cores)",
		Duration(d.Seconds()), budget, spentLine(d), promise, expected), nil
}
