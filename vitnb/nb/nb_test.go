package nb

import (
	"errors"
	"testing"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/viz"
)

func TestBudget(t *testing.T) {
	t.Setenv(BudgetEnv, "")
	if got := Budget(Full); got != Full {
		t.Fatalf("Budget(full) = %q", got)
	}
	t.Setenv(BudgetEnv, Quick)
	if got := Budget(Full); got != Quick {
		t.Fatalf("$%s=quick: Budget = %q", BudgetEnv, got)
	}
	t.Setenv(BudgetEnv, "fast")
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for an unknown budget")
		}
	}()
	Budget(Full)
}

// TestTrainOrLoad trains a few steps of micro28 on Fashion-MNIST (when its offline copy is installed), then
// loads the run again and looks inside.
func TestTrainOrLoad(t *testing.T) {
	t.Setenv("VITNB_RUNS", t.TempDir())
	spec := FashionMNIST(Quick)
	spec.Steps, spec.WarmupSteps, spec.BatchSize, spec.EvalImages = 6, 2, 16, 50
	b := Backend()
	first, err := TrainOrLoad(b, spec)
	if errors.Is(err, datasets.ErrNotFound) {
		t.Skipf("Fashion-MNIST is not installed: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if first.Eval.Examples != 50 || len(first.Curve) == 0 {
		t.Fatalf("eval on %d images, %d curve points", first.Eval.Examples, len(first.Curve))
	}
	again, err := TrainOrLoad(b, spec)
	if err != nil {
		t.Fatal(err)
	}
	if again.TrainSeconds != 0 {
		t.Fatal("the second call trained again instead of loading")
	}
	k1, dims, err := first.Variable("embedding/kernel")
	if err != nil {
		t.Fatal(err)
	}
	k2, _, err := again.Variable("embedding/kernel")
	if err != nil {
		t.Fatal(err)
	}
	if len(dims) != 4 || dims[3] != first.Config.Width || k1[7] != k2[7] {
		t.Fatalf("kernel %v differs after loading: %g vs %g", dims, k1[7], k2[7])
	}
	pix, labels, err := again.Images([]int{0, 1})
	if err != nil || len(labels) != 2 {
		t.Fatal(err)
	}
	logits, att, err := again.Inspect(pix, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg := again.Config
	if len(logits) != 2 || len(att) != 2 || len(att[0]) != cfg.Depth || att[1][0].Tokens != cfg.NumTokens() {
		t.Fatalf("inspect: %d logits, %d images of attention", len(logits), len(att))
	}
	if _, err := viz.Rollout(att[0]); err != nil {
		t.Fatal(err)
	}
	if img := again.ImageOf(pix, 1); img.Bounds().Dx() != cfg.ImageSize {
		t.Fatalf("image width %d", img.Bounds().Dx())
	}
}
