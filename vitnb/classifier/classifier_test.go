package classifier

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/datasets/datasetstest"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/weights"
)

func newBackend(t *testing.T) compute.Backend {
	t.Helper()
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func colourImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x * y) % 256), 255})
		}
	}
	return img
}

// A checkpoint whose timm config says ImageNet's mean and std and bicubic resizing: Load carries them, and
// PredictFiles feeds the model exactly what Preprocessing.Input gives with them, which differs from the reference
// (x-127.5)/127.5 and changes the logits.
func TestPreprocessingTravelsWithWeights(t *testing.T) {
	b := newBackend(t)
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "weights", "testdata", "timm.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	plain, err := Load(b, path, weights.Options{Heads: 3})
	if err != nil {
		t.Fatal(err)
	}
	size := plain.Config.ImageSize
	cfgJSON := fmt.Sprintf(`{"architecture": "vit_tiny_patch16_224", "num_classes": %d, "pretrained_cfg": {
		"input_size": [3, %d, %d], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
		"crop_pct": 0.875, "interpolation": "bicubic"}, "model_args": {"num_heads": 3}}`, plain.Config.NumClasses, size, size)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfgJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(b, path, weights.Options{Heads: 3})
	if err != nil {
		t.Fatal(err)
	}
	pre := c.Preprocessing
	if pre.Resize != datasets.ResizeBicubic || pre.CropPct != 0.875 || pre.Mean[0] != 0.485 || pre.Std[2] != 0.225 {
		t.Fatalf("preprocessing from config.json: %s", pre)
	}
	img := colourImage(3*size, 2*size)
	imgPath := filepath.Join(dir, "photo.png")
	datasetstest.WritePNG(t, imgPath, img)
	preds, err := c.PredictFiles([]string{imgPath}, 3)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pre.Input(img, 3)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := c.Logits(tensors.FromFlatDataAndDimensions(want, 1, size, size, 3))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range tensors.MustCopyFlatData[float32](logits) {
		if l != preds[0].Logits[i] {
			t.Fatalf("logit %d: PredictFiles %v, the model on the checkpoint's preprocessing %v", i, preds[0].Logits[i], l)
		}
	}
	ref, err := plain.PredictFiles([]string{imgPath}, 3)
	if err != nil {
		t.Fatal(err)
	}
	diff := 0.0
	for i := range ref[0].Logits {
		diff = math.Max(diff, math.Abs(float64(ref[0].Logits[i]-preds[0].Logits[i])))
	}
	if diff < 1e-4 {
		t.Fatalf("ImageNet mean and std gave the same logits as the reference preprocessing (max diff %g)", diff)
	}
	if len(preds[0].Top) != 3 || preds[0].Top[0].Probability < preds[0].Top[1].Probability {
		t.Fatalf("top-3 %+v", preds[0].Top)
	}
}

func tinyJob(data, dir string, steps int) training.Job {
	cfg := vitnb.Config{Name: "tiny", ImageSize: 8, Channels: 3, PatchSize: 4, Width: 16, Depth: 1, Heads: 2, MLPDim: 32}
	return training.Job{Command: "pretrain", Model: cfg, Data: training.Data{Dataset: "folder:" + data, Holdout: -1},
		Optimizer: training.OptimizerConfig{Kind: "adamw", LearningRate: 3e-3, WarmupSteps: 5, TotalSteps: steps,
			Decay: "cosine", WeightDecay: 0.01, ClipNorm: 1}, BatchSize: 16, Seed: 1, Dir: dir, LogEvery: 10}
}

// Train runs a job, leaves job.json, model.json, results and a curve; Open gives back the same model, classes and
// preprocessing; Train with Resume on the finished run opens it without training; predictions of files name the
// classes; the executables are compiled once and reused.
func TestTrainOpenPredict(t *testing.T) {
	b := newBackend(t)
	data := datasetstest.WriteFolder(t, 24, true)
	dir := filepath.Join(t.TempDir(), "run")
	var calls int
	c, err := Train(b, tinyJob(data, dir, 60), TrainOptions{Output: &strings.Builder{},
		Progress: func(p training.Progress) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 60 || c.Run.TrainSeconds <= 0 || len(c.Run.Curve) != 6 || c.Run.Curve[5].Step != 60 {
		t.Fatalf("%d progress calls, %gs, curve %v", calls, c.Run.TrainSeconds, c.Run.Curve)
	}
	if m := c.Metrics(); m == nil || m.Examples != 48 || m.Top1 < 0.9 {
		t.Fatalf("metrics %+v", m)
	}
	if strings.Join(c.Classes, ",") != "left,right" {
		t.Fatalf("classes %v", c.Classes)
	}
	opened, err := Open(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !opened.Finished() || opened.Run.Job == nil || opened.Run.Job.Optimizer.TotalSteps != 60 || opened.Run.Job.Dir != dir || strings.Join(opened.Classes, ",") != "left,right" ||
		opened.Preprocessing.String() != c.Preprocessing.String() || opened.Config.String() != c.Config.String() {
		t.Fatalf("opened run: %+v", opened)
	}
	again, err := Train(b, tinyJob(data, dir, 60), TrainOptions{Resume: true, Output: &strings.Builder{}})
	if err != nil || again.Run.TrainSeconds != 0 || again.Metrics().Top1 != c.Metrics().Top1 {
		t.Fatalf("resuming a finished run: %v", err)
	}
	files := []string{filepath.Join(data, "test", "left", "000.png"), filepath.Join(data, "test", "right", "000.png")}
	p1, err := opened.PredictFiles(files, 2)
	if err != nil {
		t.Fatal(err)
	}
	exec := opened.logits
	p2, err := c.PredictFiles(files, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opened.PredictFiles(files[:1], 1); err != nil || opened.logits != exec {
		t.Fatalf("the logits executable was rebuilt: %v", err)
	}
	for i, want := range []string{"left", "right"} {
		if p1[i].Top[0].Label != want || p2[i].Top[0].Label != want || p1[i].Top[0].Logit != p2[i].Top[0].Logit {
			t.Errorf("%s: opened %+v, trained %+v", files[i], p1[i].Top[0], p2[i].Top[0])
		}
	}
	ds, err := datasets.Load("folder:"+data, datasets.Options{Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	test, err := opened.Split(ds, datasets.SplitTest, 10, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := opened.Representations(test)
	if err != nil || len(f.Labels) != 10 || f.Dim != 16 {
		t.Fatalf("representations: %v", err)
	}
	// The analyses the commands print: evaluation results, few-shot, linear probe, attention picture.
	res, err := opened.EvaluateSplit(ds, datasets.SplitTest, "")
	if err != nil || res.Command != "eval" || res.From != dir || res.Metrics.Examples != 48 || res.Metrics.Top1 != c.Metrics().Top1 ||
		res.Backend != b.Name() {
		t.Fatalf("EvaluateSplit: %+v, %v", res, err)
	}
	fs, err := opened.FewShot(ds, datasets.SplitTest, 30, []int{1, 5}, training.FewShotL2, 2)
	if err != nil || fs.Pool != 30 || fs.TestImages != 48 || fs.Accuracy[5] < 0.8 || len(fs.Accuracy) != 2 {
		t.Fatalf("FewShot: %+v, %v", fs, err)
	}
	text := &strings.Builder{}
	fs.WriteText(text)
	if lines := strings.Split(strings.TrimSpace(text.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[0], "1-shot") {
		t.Errorf("few-shot text:\n%s", text)
	}
	pr, err := opened.Probe(ds, datasets.SplitTest, 0, training.ProbeConfig{Epochs: 10, LearningRate: 0.1})
	if err != nil || pr.TrainExamples != 48 || pr.TestImages != 48 || pr.Probe.Accuracy < 0.8 {
		t.Fatalf("Probe: %+v, %v", pr, err)
	}
	if _, err := opened.Probe(ds, datasets.SplitTest, -1, training.ProbeConfig{}); err == nil {
		t.Errorf("a negative pool was accepted")
	}
	pic, shown, correct, err := opened.AttentionPicture(ds, datasets.SplitTest, 6, 2)
	// Four pairs a row: each pair is the 8-pixel image and its masked copy, 1 pixel apart, zoomed twice.
	if err != nil || shown != 6 || correct < 4 || pic.Bounds().Dx() < 4*2*17 || pic.Bounds().Dy() < 2*2*8 {
		t.Fatalf("AttentionPicture: %v, %d shown, %d right, %v", err, shown, correct, pic.Bounds())
	}
	if _, _, _, err := opened.AttentionPicture(ds, datasets.SplitTest, 0, 2); err == nil {
		t.Errorf("an attention picture of 0 images was drawn")
	}

	if _, err := Train(b, tinyJob(data, dir, 60), TrainOptions{Output: &strings.Builder{}}); err == nil ||
		!strings.Contains(err.Error(), "resume") {
		t.Fatalf("training again into a used folder without Resume: %v", err)
	}
	// An interrupted run resumed with another learning rate is refused, unless the change is named.
	part := filepath.Join(t.TempDir(), "part")
	if err := os.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	job := tinyJob(data, part, 20)
	job.CheckpointEvery = 10
	if _, err := Train(b, job, TrainOptions{Output: &strings.Builder{}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(part, training.ResultsFile)); err != nil { // as if killed before the end
		t.Fatal(err)
	}
	job.Optimizer.TotalSteps, job.Optimizer.LearningRate = 30, 1e-3
	out := &strings.Builder{}
	if _, err := Train(b, job, TrainOptions{Resume: true, Output: out, Overrides: []string{"optimizer.TotalSteps"}}); err == nil ||
		!strings.Contains(err.Error(), "LearningRate") {
		t.Fatalf("resuming with another learning rate: %v", err)
	}
	longer, err := Train(b, job, TrainOptions{Resume: true, Output: out, Overrides: []string{"optimizer.TotalSteps", "optimizer.LearningRate"}})
	if err != nil || longer.Run.Results.Steps != 30 || !strings.Contains(out.String(), "resuming from step 20") {
		t.Fatalf("resuming for 10 more steps: %v\n%s", err, out)
	}
}

// Weights holding NaN make Predict fail with a message, not rank the NaN class first.
func TestPredictNaN(t *testing.T) {
	c, _ := tinyRandom(t, 2) // the classes of datasetstest.WriteFolder, for AttentionPicture
	cfg := c.Config
	input := make([]float32, 8*8*3)
	if _, err := c.Predict(input, 1, 2); err != nil {
		t.Fatal(err)
	}
	v := c.Store.GetVariable("/" + vitnb.VarHead + "/bias")
	if v == nil {
		t.Fatal("no head bias")
	}
	bias := tensors.FromFlatDataAndDimensions([]float32{0, float32(math.NaN())}, 2)
	if err := v.SetValue(bias); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Predict(input, 1, 2); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("NaN weights: %v", err)
	}
	ds, err := datasets.Load("folder:"+datasetstest.WriteFolder(t, 2, true), datasets.Options{Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	test, err := c.Split(ds, datasets.SplitTest, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Evaluate(test); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("evaluating NaN weights: %v", err)
	}
	if _, _, _, err := c.AttentionPicture(ds, datasets.SplitTest, 2, 1); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("attention picture of NaN weights: %v", err)
	}
	// NaN before the head: the frozen representations that few-shot and probes read are refused too.
	pb := c.Store.GetVariable("/" + vitnb.VarPatchBias)
	nan := make([]float32, cfg.Width)
	nan[3] = float32(math.NaN())
	if err := pb.SetValue(tensors.FromFlatDataAndDimensions(nan, cfg.Width)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FewShot(ds, datasets.SplitTest, 0, []int{1}, training.FewShotL2, 1); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("few-shot of NaN weights: %v", err)
	}
	if _, err := c.Probe(ds, datasets.SplitTest, 0, training.ProbeConfig{Epochs: 1}); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("probe of NaN weights: %v", err)
	}
}

// A job with EvalEvery leaves a validation curve in the run: on the evaluation split here, the folder data set
// having no validation split, which the run says.
func TestTrainEvalEvery(t *testing.T) {
	b := newBackend(t)
	data := datasetstest.WriteFolder(t, 8, true)
	job := tinyJob(data, filepath.Join(t.TempDir(), "run"), 30)
	job.EvalEvery = 10
	out := &strings.Builder{}
	c, err := Train(b, job, TrainOptions{Output: out})
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, r := range c.Run.Curve {
		if r.Eval != nil {
			steps = append(steps, r.Eval.Examples*1000+r.Step)
		}
	}
	if fmt.Sprint(steps) != "[16010 16020 16030]" || !strings.Contains(out.String(), "no validation split") {
		t.Fatalf("evaluations (examples*1000+step) %v\n%s", steps, out)
	}
}
