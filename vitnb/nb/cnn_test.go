package nb

import (
	"errors"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets"
)

// TestTrainCNN trains the CNN a few steps on a subset of Fashion-MNIST (when its offline copy is installed) and
// evaluates it on the images it saw and on test images.
func TestTrainCNN(t *testing.T) {
	spec := FashionMNIST(Quick)
	spec.Steps, spec.WarmupSteps, spec.BatchSize, spec.EvalImages, spec.TrainImages = 4, 1, 16, 40, 100
	b := Backend()
	r, err := TrainCNN(b, "cnn28", spec)
	if errors.Is(err, datasets.ErrNotFound) {
		t.Skipf("Fashion-MNIST is not installed: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.Steps != 4 || r.ImagesSeen != 64 || r.Eval.Examples != 40 {
		t.Fatalf("steps %d, images %d, evaluated on %d; want 4, 64, 40", r.Steps, r.ImagesSeen, r.Eval.Examples)
	}
	onTrain, err := r.EvaluateOn(datasets.SplitTrain, 0)
	if err != nil || onTrain.Examples != 100 {
		t.Fatalf("on the training subset: %v, %v images; want 100", err, onTrain)
	}
	if _, err := TrainCNN(b, "cnn99", spec); err == nil || !strings.Contains(err.Error(), "cnn99") {
		t.Errorf("an unknown preset: err = %v", err)
	}
}
