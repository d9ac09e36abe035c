package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTakesWhatItIsGiven: arguments and flags that a command would ignore are refused (exit 2, one line naming
// them): `eval -dir A B` evaluated A and ignored B; `finetune -weights W -preset P` ignored P (and -dropout).
func TestTakesWhatItIsGiven(t *testing.T) {
	data := writeFolderDataset(t, 2)
	w := filepath.Join("..", "..", "vitnb", "weights", "testdata", "google.npz")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "-dir", "A", "B"}, `takes no arguments, got ["B"]`},
		{[]string{"fewshot", "-dir", "A", "B"}, `takes no arguments, got ["B"]`},
		{[]string{"probe", "B", "-dir", "A"}, `takes no arguments, got ["B"]`},
		{[]string{"attention", "-dir", "A", "B"}, `takes no arguments, got ["B"]`},
		{append(tinyTrainArgs(data, t.TempDir(), 10), "extra"), `takes no arguments, got ["extra"]`},
		{[]string{"finetune", "-weights", w, "-preset", "B/16", "-data", "folder:" + data},
			"-preset cannot be combined with -weights: the architecture comes from weights (it takes 2 model flags: image-size classes)"},
		{[]string{"finetune", "-weights", w, "-dropout", "0.1", "-data", "folder:" + data}, "-dropout cannot be combined with -weights"},
		{[]string{"predict", "-weights", w, "-drop-path", "0.1", "-image", "x.png"}, "-drop-path cannot be combined with -weights"},
		{[]string{"eval", "-dir", "A", "-holdout", "1.5"}, "-holdout must be in [0, 1)"},
		{[]string{"predict", "-dir", "A", "-preset", "B/16", "-image", "x.png"}, "-preset cannot be combined with -dir"},
		// A last flag without its value: said as such, not `invalid value "--" for flag -steps`.
		{[]string{"pretrain", "-preset", "micro28", "-steps"}, "flag needs an argument: -steps"},
		{[]string{"predict", "-dir", "A", "-image"}, "flag needs an argument: -image"},
	} {
		code, out, errOut := runVit(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || out != "" {
			t.Errorf("vit %q: exit %d, stderr %q; want exit 2 and one line with %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestPredictRepeatedImage: `predict -image a -image b` predicted only b; now every image given is predicted, in
// order, with those after the flags.
func TestPredictRepeatedImage(t *testing.T) {
	a, b, c := writePNG(t, 20, 10), writePNG(t, 10, 20), writePNG(t, 30, 30)
	code, out, errOut := runVit(t, "predict", "-preset", "micro32", "-image", a, "-json", "-image", b, c)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var got []string
	for dec.More() {
		var p prediction
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Image)
	}
	if strings.Join(got, " ") != strings.Join([]string{a, b, c}, " ") {
		t.Errorf("predicted %q, want %q", got, []string{a, b, c})
	}
}

// TestClassesZeroKeepsThePreset: -classes 0 is documented as keeping the preset's head; it removed it.
func TestClassesZeroKeepsThePreset(t *testing.T) {
	_, out, errOut := runVit(t, "params", "B/16", "-classes", "0")
	if !strings.HasSuffix(strings.TrimSpace(out), "total 86567656") {
		t.Errorf("params B/16 -classes 0: %q %q", out, errOut)
	}
}

// TestHoldoutFlag: the validation split that -split validation names is held out with -holdout, in training and
// evaluation alike (pretrain had no -holdout, and eval -split validation failed on the offline data sets without
// saying how to get one).
func TestHoldoutFlag(t *testing.T) {
	data := writeFolderDataset(t, 8)
	dir := filepath.Join(t.TempDir(), "run")
	args := append(tinyTrainArgs(data, dir, 20), "-holdout", "0.25", "-split", "validation")
	if code, out, errOut := runVit(t, args...); code != 0 {
		t.Fatalf("pretrain: exit %d\n%s\n%s", code, out, errOut)
	}
	if r := readResults(t, dir); r.EvalSplit != "validation" || r.Metrics.Examples != 4 || r.TrainExamples != 12 {
		t.Errorf("results: split %s, %d examples, %d training", r.EvalSplit, r.Metrics.Examples, r.TrainExamples)
	}
	code, out, errOut := runVit(t, "eval", "-dir", dir, "-data", "folder:"+data, "-split", "validation", "-holdout", "0.25")
	if code != 0 || !strings.Contains(out, "/validation: 4 examples") {
		t.Errorf("eval -holdout: exit %d\n%s\n%s", code, out, errOut)
	}
	// Without -holdout, eval takes the run's (run.json): the same 4 held-out images, none it trained on.
	code, out, errOut = runVit(t, "eval", "-dir", dir, "-data", "folder:"+data, "-split", "validation")
	if code != 0 || !strings.Contains(out, "/validation: 4 examples") {
		t.Errorf("eval without -holdout (the run's 0.25): exit %d\n%s\n%s", code, out, errOut)
	}
	// Another data set than the run's has no hold-out of the run's to take: the data set's default (none here).
	other := writeFolderDataset(t, 8)
	code, _, errOut = runVit(t, "eval", "-dir", dir, "-data", "folder:"+other, "-split", "validation")
	if code != 1 || !strings.Contains(errOut, `no split "validation" (or it is empty) (a validation split is held out of train: a holdout fraction, vit's -holdout)`) {
		t.Errorf("eval of another data set without -holdout: exit %d %q", code, errOut)
	}
}

// TestBenchProfileWriteError: `bench -cpuprofile /dev/full` reported success; a profile that cannot be written
// is an error.
func TestBenchProfileWriteError(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	code, _, errOut := runVit(t, "bench", "-preset", "micro28", "-batch", "2", "-mode", "infer", "-steps", "1", "-time", "0s",
		"-warmup", "0", "-cpuprofile", "/dev/full")
	if code != 1 || !strings.Contains(errOut, "vit bench: CPU profile: writing /dev/full: ") || strings.Contains(errOut, "written to") {
		t.Errorf("exit %d, %q", code, errOut)
	}
}
