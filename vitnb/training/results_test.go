package training

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/vitnb/vitnb/vitnb"
)

// TestFindResults writes results files where runs put them and checks which ones FindResults reads.
func TestFindResults(t *testing.T) {
	root := t.TempDir()
	write := func(rel string, r Results) {
		t.Helper()
		if err := WriteResults(filepath.Join(root, rel), &r); err != nil {
			t.Fatal(err)
		}
	}
	m := &Metrics{Examples: 10, Top1: 0.5}
	write("a/results.json", Results{Command: "pretrain", Steps: 100, BatchSize: 64, Metrics: m})
	write("a/finetune-b/results.json", Results{Command: "finetune", From: filepath.Join(root, "a"), Steps: 10, BatchSize: 8, Metrics: m})
	write("a/results-eval-mnist-test.json", Results{Command: "eval", Steps: 100, BatchSize: 64, Metrics: m})
	write("a/.staging/results.json", Results{Command: "pretrain", Metrics: m}) // hidden folders are skipped
	write("a/config.json", Results{Command: "pretrain", Metrics: m})           // not a results file name
	if err := os.WriteFile(filepath.Join(root, "results-broken.json"), []byte(`{"command": "pretrain"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	found, skipped, err := FindResults(root, filepath.Join(root, "a"), filepath.Join(root, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range found {
		rel, _ := filepath.Rel(root, f.Path)
		names = append(names, rel)
	}
	want := []string{"a/finetune-b/results.json", "a/results-eval-mnist-test.json", "a/results.json"}
	if !slices.Equal(names, want) {
		t.Fatalf("found %v, want %v (a folder searched twice counts once)", names, want)
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "results-broken.json") {
		t.Fatalf("skipped %v, want the file without metrics", skipped)
	}
	if found[0].Dir != filepath.Join(root, "a", "finetune-b") || found[0].From != filepath.Join(root, "a") {
		t.Fatalf("fine-tuning found as %+v", found[0])
	}
	if n := found[2].ImagesSeen(); n != 6400 {
		t.Fatalf("pretraining saw %d images, want 6400", n)
	}
	if n := found[1].ImagesSeen(); n != 0 {
		t.Fatalf("an evaluation saw %d training images, want 0", n)
	}
	if _, err := ReadResults(filepath.Join(root, "a", "missing.json")); err == nil {
		t.Fatal("no error for a missing file")
	}
}

// TestInitFromStore trains a model a few steps, then starts fine-tunings from it: every variable but the head
// is copied, and the head is left out (so it starts at zero, as the paper's fine-tuning), with the same number of
// classes as with another.
func TestInitFromStore(t *testing.T) {
	dir := t.TempDir()
	r, err := runFor(t, dir, 6, false, &stripes{seed: 1, batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	value := func(s *model.Store, name string) []float32 {
		t.Helper()
		v := s.GetVariable("/" + name)
		if v == nil {
			return nil
		}
		return tensors.MustCopyFlatData[float32](v.MustValue())
	}
	for _, classes := range []int{2, 3} {
		cfg := tinyModel()
		cfg.NumClasses = classes
		dst := model.NewStore()
		var notes bytes.Buffer
		if err := InitFromRun(dir, cfg, &notes)(dst); err != nil {
			t.Fatal(err)
		}
		kernel := vitnb.VarPatchKernel
		if got, want := value(dst, kernel), value(r.Store, kernel); len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("%d classes: %s not copied", classes, kernel)
		}
		head := value(dst, vitnb.VarHead+"/kernel")
		newHead := strings.Contains(notes.String(), fmt.Sprintf("new zero-initialised head (%d classes)", classes))
		if head != nil || !newHead {
			t.Fatalf("%d classes (the run has 2): the pretrained head was copied or the new one not reported (notes %q)",
				classes, notes.String())
		}
	}
	wide := tinyModel()
	wide.Width, wide.MLPDim = 32, 64
	if err := InitFromStore(r.Store, wide, "the run", nil)(model.NewStore()); err == nil ||
		!strings.Contains(err.Error(), "another architecture") {
		t.Fatalf("another width: %v", err)
	}
	if c := PaperFineTuning(500, 50); c.Kind != "sgd" || c.ClipNorm != 1 || c.WeightDecay != 0 || c.Decay != "cosine" ||
		c.TotalSteps != 500 || c.LearningRate != FineTuneLearningRate {
		t.Fatalf("fine-tuning recipe %+v", c)
	}
}
