package training

import (
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb/cnn"
)

// A Net other than the ViT trains through the same Run (checkpoints, resume, config.json) and evaluates: the CNN
// baseline of package cnn learns the stripes, and resuming its folder as a ViT run is refused.
func TestTrainNet(t *testing.T) {
	net := cnn.Config{Name: "cnn-test", ImageSize: 8, Channels: 1, Filters: []int{8, 16}, KernelSize: 3, NumClasses: 2}
	dir := t.TempDir()
	r, err := runFor(t, dir, 60, false, &stripes{seed: 1, batch: 16}, func(c *Config) { c.Net = net })
	if err != nil {
		t.Fatal(err)
	}
	m, err := EvaluateNet(r.Backend, r.Store, net, &stripes{seed: 99, batch: 50, batches: 4})
	if err != nil {
		t.Fatal(err)
	}
	if m.Examples != 200 || m.Top1 < 0.95 {
		t.Errorf("CNN after 60 steps: %d examples, top-1 %.3f; want 200 and >= 0.95", m.Examples, m.Top1)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r, err = runFor(t, dir, 70, true, &stripes{seed: 1, batch: 16}, func(c *Config) { c.Net = net; c.Overrides = []string{"optimizer.TotalSteps"} })
	if err != nil || r.Step() != 70 {
		t.Fatalf("resuming the CNN run: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = runFor(t, dir, 80, true, &stripes{seed: 1, batch: 16}, func(c *Config) { c.Overrides = []string{"optimizer.TotalSteps"} })
	if err == nil || !strings.Contains(err.Error(), "another architecture") {
		t.Fatalf("resuming a CNN run as a ViT: %v", err)
	}
}

// EvalEvery logs the metrics on EvalData during training: records every 20 steps carry an evaluation of the
// weights at that step (the first below the last), read back by ReadCurve.
func TestEvalEvery(t *testing.T) {
	dir := t.TempDir()
	if _, err := runFor(t, dir, 60, false, &stripes{seed: 1, batch: 16}, func(c *Config) {
		c.EvalEvery, c.EvalData, c.LogEvery = 20, &stripes{seed: 99, batch: 50, batches: 2}, 25
	}); err != nil {
		t.Fatal(err)
	}
	curve, err := ReadCurve(dir)
	if err != nil {
		t.Fatal(err)
	}
	var evals []StepRecord
	for _, r := range curve {
		if r.Eval != nil {
			evals = append(evals, r)
		}
	}
	if len(evals) != 3 || evals[0].Step != 20 || evals[2].Step != 60 || evals[2].Eval.Examples != 100 {
		t.Fatalf("evaluations in the curve: %+v", evals)
	}
	if evals[2].Eval.Top1 < 0.95 || evals[0].Eval.Loss <= evals[2].Eval.Loss {
		t.Errorf("validation: step 20 loss %.4f top-1 %.3f, step 60 loss %.4f top-1 %.3f", evals[0].Eval.Loss,
			evals[0].Eval.Top1, evals[2].Eval.Loss, evals[2].Eval.Top1)
	}
}
