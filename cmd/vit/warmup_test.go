package main

import (
	"strings"
	"testing"
)

// TestDefaultWarmupShorterRun trains 20 steps with the default warm-up (200 steps): the run is not refused, its
// warm-up becomes a fifth of the steps and one line says so. An explicit -warmup as long as the run is still
// refused (TestTrainBadInput).
func TestDefaultWarmupShorterRun(t *testing.T) {
	data := writeFolderDataset(t, 4)
	args := tinyTrainArgs(data, t.TempDir(), 20)
	for i, a := range args {
		if a == "-warmup" { // drop "-warmup 10": the default applies
			args = append(args[:i:i], args[i+2:]...)
			break
		}
	}
	code, _, errOut := runVit(t, args...)
	if code != 0 {
		t.Fatalf("exit %d with the default warm-up and -steps 20:\n%s", code, errOut)
	}
	if want := "warm-up shortened to 4 steps, a fifth of the run (-warmup sets it)"; !strings.Contains(errOut, want) {
		t.Fatalf("stderr lacks %q:\n%s", want, errOut)
	}
}
