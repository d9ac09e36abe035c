package cnn

import (
	"iter"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/vitnb/training"
)

// halvesData is a train.Dataset of batches of halves images: endless (Loop) for training, else n images once.
type halvesData struct {
	seed         uint64
	batch, total int
	loop         bool
}

func (d halvesData) Name() string { return "halves" }

func (d halvesData) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		rng := rand.New(rand.NewPCG(d.seed, 0))
		for done := 0; d.loop || done < d.total; done += d.batch {
			pix, labels := halves(rng, d.batch)
			b := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(pix, d.batch, 12, 12, 1)},
				Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(labels, d.batch)}}
			if !yield(b, nil) {
				return
			}
		}
	}
}

// TestTrainAndEvaluate trains the CNN with package training's optimizer (Train) and measures it on held-out
// images (Evaluate, Predict).
func TestTrainAndEvaluate(t *testing.T) {
	b := testBackend(t)
	opt := training.DefaultPretraining()
	opt.LearningRate, opt.WarmupSteps, opt.TotalSteps = 3e-3, 5, 60
	var losses []float64
	lastAcc := 0.0
	tr, err := Train(b, small(), halvesData{seed: 1, batch: 16, loop: true}, TrainOptions{Optimizer: opt, Seed: 1,
		Progress: func(step, total int, loss, acc float64) { losses, lastAcc = append(losses, loss), acc }})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Steps != 60 || tr.ImagesSeen != 960 || len(losses) != 60 || tr.Seconds <= 0 {
		t.Fatalf("steps %d, images %d, progress calls %d, %.2fs; want 60, 960, 60, > 0", tr.Steps, tr.ImagesSeen,
			len(losses), tr.Seconds)
	}
	if lastAcc < 0.5 || lastAcc > 1 {
		t.Errorf("moving average of the training accuracy after 60 steps: %.3f, want above 0.5", lastAcc)
	}
	m, err := tr.Evaluate(halvesData{seed: 99, batch: 32, total: 64})
	if err != nil {
		t.Fatal(err)
	}
	if m.Examples != 64 || m.Top1 < 0.95 {
		t.Errorf("held-out: %d images, top-1 %.3f; want 64 images and at least 0.95", m.Examples, m.Top1)
	}
	pix, labels := halves(rand.New(rand.NewPCG(7, 0)), 8)
	logits, err := tr.Predict(pix, 8)
	if err != nil || len(logits) != 8 || len(logits[0]) != 2 {
		t.Fatalf("Predict: %v, %d rows", err, len(logits))
	}
	right := 0
	for i, row := range logits {
		if training.Predicted(row) == int(labels[i]) {
			right++
		}
	}
	if right < 7 {
		t.Errorf("Predict: %d of 8 right", right)
	}
	if _, err := tr.Predict(pix[:10], 8); err == nil || !strings.Contains(err.Error(), "need 1152 values, got 10") {
		t.Errorf("Predict with too few values: err = %v", err)
	}
	// Data that runs out before the run's length is an error naming both.
	if _, err := Train(b, small(), halvesData{seed: 1, batch: 16, total: 32}, TrainOptions{Optimizer: opt}); err == nil ||
		!strings.Contains(err.Error(), "after 2 of 60 steps") {
		t.Errorf("short data: err = %v", err)
	}
}
