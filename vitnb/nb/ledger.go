package nb

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// ledgerFile, in the GoNB kernel's temporary folder beside clockFile, holds one line per model that a cell trained
// or loaded ("train SECONDS" or "load SECONDS"), so that WallTime can say how much of the notebook's time each took
// although every cell is a new process. StartClock empties it.
const ledgerFile = "vitnb-clock-ledger"

// Ledger kinds.
const (
	spentTraining = "train"
	spentLoading  = "load"
)

var ledgerMemory []string // outside a notebook: one process, kept in memory (under clockMu)

func ledgerPath() string {
	if dir := os.Getenv(protocol.GONB_TMP_DIR_ENV); dir != "" {
		return filepath.Join(dir, ledgerFile)
	}
	return ""
}

// resetLedger forgets what earlier runs of the notebook trained and loaded (StartClock calls it).
func resetLedger() error {
	clockMu.Lock()
	ledgerMemory = nil
	clockMu.Unlock()
	if p := ledgerPath(); p != "" {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("nb: resetting the notebook's time ledger: %w", err)
		}
	}
	return nil
}

// recordSince adds the time since start to the ledger as training or loading. A ledger that cannot be written
// only makes WallTime's split less complete: it is not worth failing a cell for.
func recordSince(start time.Time, kind string) {
	line := fmt.Sprintf("%s %.3f\n", kind, time.Since(start).Seconds())
	p := ledgerPath()
	if p == "" {
		clockMu.Lock()
		ledgerMemory = append(ledgerMemory, line)
		clockMu.Unlock()
		return
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	_, _ = f.WriteString(line)
	_ = f.Close()
}

// spent returns the seconds recorded as training and as loading, and how many models each.
func spent() (train, load float64, trained, loaded int) {
	var lines []string
	if p := ledgerPath(); p != "" {
		data, _ := os.ReadFile(p) // no file: nothing trained or loaded yet
		lines = strings.Split(string(data), "\n")
	} else {
		clockMu.Lock()
		lines = strings.Split(strings.Join(ledgerMemory, ""), "\n")
		clockMu.Unlock()
	}
	for _, l := range lines {
		kind, s, ok := strings.Cut(strings.TrimSpace(l), " ")
		v, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil {
			continue
		}
		switch kind {
		case spentTraining:
			train, trained = train+v, trained+1
		case spentLoading:
			load, loaded = load+v, loaded+1
		}
	}
	return train, load, trained, loaded
}

// spentLine says how the notebook's time d divides: training, loading trained models, the rest.
func spentLine(d time.Duration) string {
	train, load, trained, loaded := spent()
	rest := max(0, d.Seconds()-train-load)
	return fmt.Sprintf("%s training (%s), %s loading trained models (%s), %s the rest", Duration(train),
		plural(trained, "model"), Duration(load), plural(loaded, "load"), Duration(rest))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
