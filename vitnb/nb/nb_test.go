package nb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/explain"
	"github.com/vitnb/vitnb/vitnb/training"
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
	t.Setenv(BudgetEnv, Default)
	if got := Budget(Full); got != Default {
		t.Fatalf("$%s=default: Budget = %q", BudgetEnv, got)
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
	res, err := training.ReadResults(filepath.Join(first.Dir, training.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if res.Command != "pretrain" || res.Steps != 6 || res.ImagesSeen() != 96 || res.TrainExamples != 60000 ||
		res.Metrics.Top1 != first.Eval.Top1 || res.Backend == "" || res.WallSeconds <= 0 {
		t.Fatalf("results file %+v", res)
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
	if _, err := explain.Rollout(att[0]); err != nil {
		t.Fatal(err)
	}
	if img := again.ImageOf(pix, 1); img.Bounds().Dx() != cfg.ImageSize {
		t.Fatalf("image width %d", img.Bounds().Dx())
	}

	// The trained model in memory and the one reloaded from its checkpoint give the same logits and accuracy.
	firstLogits, _, err := first.Inspect(pix, 2)
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := first.Reload()
	if err != nil {
		t.Fatal(err)
	}
	reLogits, _, err := reloaded.Inspect(pix, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range firstLogits {
		if !slices.Equal(firstLogits[i], reLogits[i]) {
			t.Fatalf("image %d: logits %v in memory, %v reloaded", i, firstLogits[i], reLogits[i])
		}
	}
	m, err := reloaded.Evaluate()
	if err != nil || m.Top1 != first.Eval.Top1 || m.Examples != 50 {
		t.Fatalf("reloaded: %v, %+v", err, m)
	}
}

// TestFineTune fine-tunes the model of a few steps on 40 MNIST images with the paper's recipe, in a folder
// inside the pretraining's, and computes representations with it and with an untrained model.
func TestFineTune(t *testing.T) {
	t.Setenv("VITNB_RUNS", t.TempDir())
	pre := FashionMNIST(Quick)
	pre.Steps, pre.WarmupSteps, pre.BatchSize, pre.EvalImages = 6, 2, 16, 50
	ft := TrainSpec{Dataset: "mnist", TrainImages: 40, Steps: 4, BatchSize: 8, WarmupSteps: 1, EvalImages: 30,
		Seed: 3, FineTuneFrom: &pre}
	if !strings.HasPrefix(ft.Dir(), pre.Dir()+string(filepath.Separator)) || !strings.Contains(ft.Dir(), "-n40-") {
		t.Fatalf("fine-tuning folder %s, pretraining %s", ft.Dir(), pre.Dir())
	}
	b := Backend()
	tuned, err := TrainOrLoad(b, ft)
	if errors.Is(err, datasets.ErrNotFound) {
		t.Skipf("Fashion-MNIST or MNIST is not installed: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := tuned.Results
	if r.Command != "finetune" || r.From != pre.Dir() || r.TrainExamples != 40 || r.Optimizer.Kind != "sgd" ||
		r.Optimizer.ClipNorm != 1 || r.Optimizer.WeightDecay != 0 || r.Metrics.Examples != 30 || r.Data != "mnist" {
		t.Fatalf("fine-tuning results %+v", r)
	}
	if _, err := os.Stat(filepath.Join(pre.Dir(), training.ResultsFile)); err != nil {
		t.Fatalf("the pretraining did not run first: %v", err)
	}
	trainF, err := tuned.Representations(ft, datasets.SplitTrain, ft.TrainImages)
	if err != nil {
		t.Fatal(err)
	}
	if len(trainF.Labels) != 40 || trainF.Dim != tuned.Config.Width {
		t.Fatalf("%d representations of size %d", len(trainF.Labels), trainF.Dim)
	}
	// The same 40 images as the fine-tuning: the labels of datasets.RandomSubset with the spec's seed.
	mnist, err := datasets.Load("mnist", datasets.Options{Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := mnist.Split(datasets.SplitTrain)
	sub := datasets.RandomSubset(src, 40, 3)
	for i := range 40 {
		if trainF.Labels[i] != sub.Label(i) {
			t.Fatalf("representation %d has label %d, the subset %d", i, trainF.Labels[i], sub.Label(i))
		}
	}
	onTrain, err := tuned.EvaluateOn(datasets.SplitTrain, 0)
	if err != nil || onTrain.Examples != 40 {
		t.Fatalf("evaluation on the training images: %v, %+v", err, onTrain)
	}
	if few, err := tuned.EvaluateOn(datasets.SplitTrain, 10); err != nil || few.Examples != 10 {
		t.Fatalf("evaluation on 10 training images: %v, %+v", err, few)
	}
	raw, err := tuned.Untrained().Representations(ft, datasets.SplitTest, 5)
	if err != nil {
		t.Fatal(err)
	}
	tunedTest, err := tuned.Representations(ft, datasets.SplitTest, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Labels) != 5 || slices.Equal(raw.X, tunedTest.X) {
		t.Fatal("the untrained model's representations are the trained one's")
	}
	again, err := TrainOrLoad(b, ft)
	if err != nil || again.TrainSeconds != 0 || again.Results.From != pre.Dir() {
		t.Fatalf("loading the fine-tuning again: %v", err)
	}
	// The runs moved elsewhere (another $VITNB_RUNS, as the browser test does) still load without training.
	moved := t.TempDir()
	if err := os.CopyFS(moved, os.DirFS(RunsDir())); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VITNB_RUNS", moved)
	if again, err := TrainOrLoad(b, ft); err != nil || again.TrainSeconds != 0 {
		t.Fatalf("loading the moved fine-tuning: %v", err)
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine("training x", training.Progress{Step: 30, Total: 100, StartStep: 10, Elapsed: 10 * time.Second,
		Loss: 0.5, Accuracy: 0.25, ImagesPerStep: 64})
	want := "training x · loss 0.500 · train accuracy 25.0% (moving averages) · 128 img/s · 10s, about 35s left"
	if got != want {
		t.Fatalf("progress line\n got %q\nwant %q", got, want)
	}
}

// A spec with Holdout and EvalEvery trains with a validation split and leaves its curve in Trained.Curve; other
// specs keep their folders' names.
func TestValidationCurve(t *testing.T) {
	t.Setenv("VITNB_RUNS", t.TempDir())
	spec := FashionMNIST(Quick)
	plain := spec.Dir()
	spec.Steps, spec.WarmupSteps, spec.BatchSize, spec.EvalImages = 6, 2, 16, 50
	spec.Holdout, spec.EvalEvery = 0.01, 3
	if !strings.Contains(spec.Dir(), "-h0.01-ee3") || strings.Contains(plain, "-ee") {
		t.Fatalf("folders %s and %s", spec.Dir(), plain)
	}
	tr, err := TrainOrLoad(Backend(), spec)
	if errors.Is(err, datasets.ErrNotFound) {
		t.Skipf("Fashion-MNIST is not installed: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var evals []int
	for _, r := range tr.Curve {
		if r.Eval != nil {
			evals = append(evals, r.Step, r.Eval.Examples)
		}
	}
	if fmt.Sprint(evals) != "[3 600 6 600]" || tr.Results.TrainExamples != 59400 {
		t.Fatalf("validation evaluations (step, examples) %v, %d training images", evals, tr.Results.TrainExamples)
	}
}
