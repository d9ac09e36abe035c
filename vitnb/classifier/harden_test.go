package classifier

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/datasets/datasetstest"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// TestBadInputsAreErrors: the library returns an error that says what is wrong, and never panics, for what a
// program may hand it: nil, unbounded or huge images (refused from their bounds, without allocating their pixels),
// few-shot settings out of range, a zero Classifier, nil data sets, backends, stores and writers, a negative zoom,
// and NaN in the input (blamed on the input, not the weights).
func TestBadInputsAreErrors(t *testing.T) {
	c, b := tinyRandom(t, 2)
	cfg := c.Config
	data := datasetstest.WriteFolder(t, 4, true)
	ds, err := datasets.Load("folder:"+data, datasets.Options{Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	zero := &Classifier{}
	runDir := filepath.Join(t.TempDir(), "run")
	nanInput := make([]float32, 8*8*3)
	nanInput[5] = float32(math.NaN())
	var nilRGBA *image.RGBA
	var nilPipeline *datasets.Pipeline
	small := image.NewRGBA(image.Rect(0, 0, 4, 4))
	predict := func(img image.Image) func() error {
		return func() error { _, err := c.PredictImages([]image.Image{img}, 1); return err }
	}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"PredictImages(nil image)", predict(nil), "image 0: no image (nil)"},
		{"PredictImages(nil *image.RGBA)", predict(nilRGBA), "cannot tell its bounds"},
		{"PredictImages(image.Uniform)", predict(image.NewUniform(color.White)), "above the limit"},
		{"PredictImages(200000x100000 RGBA)", predict(&image.RGBA{Rect: image.Rect(0, 0, 200000, 100000)}), "200000x100000"},
		{"PredictImages(RGBA shorter than its bounds)", predict(&image.RGBA{Rect: image.Rect(0, 0, 30, 30), Stride: 120}), "reading the pixels"},
		{"PredictImages(empty image)", predict(image.NewRGBA(image.Rectangle{})), "0x0 pixels"},
		{"PredictImages(no images)", func() error { _, err := c.PredictImages(nil, 1); return err }, "no images"},
		{"PredictImages(top-0)", func() error { _, err := c.PredictImages([]image.Image{small}, 0); return err }, "top-k"},
		{"FewShot(shots 0, -1)", func() error { _, err := c.FewShot(ds, "test", 0, []int{0, -1}, 1, 1); return err }, "0 shots"},
		{"FewShot(l2 NaN)", func() error { _, err := c.FewShot(ds, "test", 0, []int{1}, math.NaN(), 1); return err }, "l2"},
		{"FewShot(0 draws)", func() error { _, err := c.FewShot(ds, "test", 0, []int{1}, 1, 0); return err }, "draw"},
		{"zero Classifier Predict", func() error { _, err := zero.Predict(nanInput, 1, 1); return err }, "no backend"},
		{"zero Classifier PredictImages", func() error { _, err := zero.PredictImages([]image.Image{small}, 1); return err }, "no backend"},
		{"zero Classifier PredictFiles", func() error { _, err := zero.PredictFiles([]string{"x.png"}, 1); return err }, "no backend"},
		{"zero Classifier Evaluate", func() error { _, err := zero.Evaluate(nilPipeline); return err }, "no backend"},
		{"zero Classifier AttentionPicture", func() error { _, _, _, err := zero.AttentionPicture(ds, "test", 1, 1); return err }, "no backend"},
		{"zero Classifier ExportTimm", func() error { return zero.ExportTimm(filepath.Join(t.TempDir(), "m.safetensors"), "") }, "no backend"},
		{"zero Classifier Inspect", func() error { _, _, err := zero.Inspect(nanInput, 1); return err }, "no backend"},
		{"zero Classifier WritePredictions", func() error { return zero.WritePredictions(os.Stdout, nil, "", false) }, "no backend"},
		{"nil *Classifier Predict", func() error { _, err := (*Classifier)(nil).Predict(nanInput, 1, 1); return err }, "nil classifier"},
		{"Classifier without store", func() error {
			_, err := (&Classifier{Config: c.Config, Backend: b}).Predict(make([]float32, 8*8*3), 1, 1)
			return err
		}, "nil Store"},
		{"Evaluate(nil)", func() error { _, err := c.Evaluate(nil); return err }, "no data set"},
		{"Evaluate(nil *Pipeline)", func() error { _, err := c.Evaluate(nilPipeline); return err }, "no data set"},
		{"Representations(nil)", func() error { _, err := c.Representations(nil); return err }, "no data set"},
		{"Features(nil)", func() error { _, err := c.Features(nil, "test", 0, 0); return err }, "no data set"},
		{"FewShot(nil data set)", func() error { _, err := c.FewShot(nil, "test", 0, []int{1}, 1, 1); return err }, "no data set"},
		{"Probe(nil data set)", func() error { _, err := c.Probe(nil, "test", 0, training.ProbeConfig{}); return err }, "no data set"},
		{"AttentionPicture(nil data set)", func() error { _, _, _, err := c.AttentionPicture(nil, "test", 1, 1); return err }, "no data set"},
		{"EvaluateSplit(nil data set)", func() error { _, err := c.EvaluateSplit(nil, "test", ""); return err }, "no data set"},
		{"Split(negative n)", func() error { _, err := c.Split(ds, "test", -1, 0, 0); return err }, "negative"},
		{"WritePredictions(nil writer)", func() error { return c.WritePredictions(nil, []Prediction{{}}, "go", false) }, "no writer"},
		{"FewShotResult.WriteText(nil)", func() error { return (&FewShotResult{}).WriteText(nil) }, "no writer"},
		{"ProbeResult.WriteText(nil)", func() error { return (&ProbeResult{}).WriteText(nil) }, "no writer"},
		{"Metrics.WriteTable(nil)", func() error { return (&training.Metrics{}).WriteTable(nil, "x", nil) }, "no writer"},
		{"Open(nil backend)", func() error { _, err := Open(nil, runDir); return err }, "no backend"},
		{"Random(nil backend)", func() error { _, err := Random(nil, cfg, 1); return err }, "no backend"},
		{"Load(nil backend)", func() error { _, err := Load(nil, "missing.safetensors", weights.Options{}); return err }, "no backend"},
		{"Train(nil backend)", func() error {
			_, err := Train(nil, tinyJob(data, runDir, 10), TrainOptions{Output: &strings.Builder{}})
			if _, serr := os.Stat(runDir); serr == nil {
				return fmt.Errorf("Train created %s before refusing: %v", runDir, err)
			}
			return err
		}, "no backend"},
		{"New(nil store)", func() error { _, err := New(b, cfg, nil); return err }, "no store"},
		{"New(nil backend)", func() error { _, err := New(nil, cfg, model.NewStore()); return err }, "no backend"},
		{"AttentionPicture(scale -3)", func() error { _, _, _, err := c.AttentionPicture(ds, "test", 1, -3); return err }, "scale"},
		{"Predict(NaN input)", func() error { _, err := c.Predict(nanInput, 1, 1); return err }, "input of image 0 holds NaN"},
	}
	for _, tc := range cases {
		var err error
		var panicked any
		allocated := datasetstest.Allocated(func() {
			defer func() { panicked = recover() }()
			err = tc.call()
		})
		switch {
		case panicked != nil:
			t.Errorf("%s panicked: %v", tc.name, panicked)
		case err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: got %v, want one line containing %q", tc.name, err, tc.want)
		case strings.Contains(err.Error(), "weights"):
			t.Errorf("%s blames the weights: %v", tc.name, err)
		}
		if allocated > 64<<20 {
			t.Errorf("%s allocated %d MB", tc.name, allocated>>20)
		}
	}
}

// editJSON rewrites a JSON file of a run folder through edit.
func editJSON(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunFolderMustFitItsCheckpoint: a run folder whose config.json or model.json disagrees with its checkpoint
// (depth edited down or up, class names for another number of classes) is an error naming both values, for
// Open, a resumed training and a fine-tuning from it; a truncated newest checkpoint makes Open use the one before,
// says so and records it in the evaluation results, which go to a file of their own instead of replacing the
// final checkpoint's.
func TestRunFolderMustFitItsCheckpoint(t *testing.T) {
	b := newBackend(t)
	data := datasetstest.WriteFolder(t, 8, true)
	dir := filepath.Join(t.TempDir(), "run")
	job := tinyJob(data, dir, 20)
	job.Model.Depth, job.CheckpointEvery = 2, 10
	c, err := Train(b, job, TrainOptions{Output: &strings.Builder{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Run.Results.Checkpoint != "checkpoint-n0000020-step-00000020" || c.Run.Checkpoint.Step != 20 {
		t.Fatalf("the results of the training name checkpoint %q, the run %+v", c.Run.Results.Checkpoint, c.Run.Checkpoint)
	}
	ds, err := datasets.Load("folder:"+data, datasets.Options{Holdout: -1})
	if err != nil {
		t.Fatal(err)
	}
	opened, err := Open(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := opened.EvalResultsFile(ds.Name, "test"), training.EvalResultsFile(dir, ds.Name, "test", 0); got != want {
		t.Fatalf("the final checkpoint's evaluation goes to %s, want %s", got, want)
	}

	configPath := filepath.Join(dir, training.ModelConfigFile)
	original, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, depth := range []int{1, 3} {
		editJSON(t, configPath, func(m map[string]any) { m["Depth"] = depth })
		want := fmt.Sprintf("Depth (encoder blocks) %d in the model, 2 in the checkpoint", depth)
		if _, err := Open(b, dir); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), configPath) {
			t.Errorf("config.json with depth %d: %v", depth, err)
		}
	}
	// A training resumed with the edited config.json (and the same depth asked) trains no truncated model either.
	if err := os.Rename(filepath.Join(dir, training.ResultsFile), filepath.Join(dir, "results.bak")); err != nil {
		t.Fatal(err)
	}
	resumed := job
	resumed.Model.Depth, resumed.Optimizer.TotalSteps = 3, 30
	if _, err := Train(b, resumed, TrainOptions{Resume: true, Output: &strings.Builder{},
		Overrides: []string{"model", "optimizer.TotalSteps"}}); err == nil || !strings.Contains(err.Error(), "3 in the model, 2 in the checkpoint") {
		t.Errorf("resuming with config.json at depth 3: %v", err)
	}
	if err := os.Rename(filepath.Join(dir, "results.bak"), filepath.Join(dir, training.ResultsFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(configPath, original, 0o644); err != nil {
		t.Fatal(err)
	}

	// Fields that change no shape are held to the model that run.json records: Open refuses the edit.
	for field, value := range map[string]any{"GELU": "tanh", "LayerNormEpsilon": 0.001} {
		editJSON(t, configPath, func(m map[string]any) { m[field] = value })
		if _, err := Open(b, dir); err == nil || !strings.Contains(err.Error(), field+" is ") || !strings.Contains(err.Error(), configPath) {
			t.Errorf("config.json with %s %v: %v", field, value, err)
		}
		if err := os.WriteFile(configPath, original, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Fine-tuning from the run with a shallower model: an error, not a truncated model.
	ft := tinyJob(data, filepath.Join(t.TempDir(), "ft"), 10)
	ft.Command, ft.From, ft.Model.Depth = "finetune", dir, 1
	if _, err := Train(b, ft, TrainOptions{Output: &strings.Builder{}}); err == nil ||
		!strings.Contains(err.Error(), "Depth (encoder blocks) 1 in the model, 2 in the checkpoint") {
		t.Errorf("fine-tuning a 2-block run as 1 block: %v", err)
	}
	if _, err := os.Stat(ft.Dir); err == nil {
		t.Errorf("the refused fine-tuning made its run folder %s", ft.Dir)
	}

	modelPath := filepath.Join(dir, ModelFile)
	for _, names := range [][]string{{"a", "b", "c"}, {"a"}} {
		editJSON(t, modelPath, func(m map[string]any) { m["classes"] = names })
		want := fmt.Sprintf("%d class names for the 2 classes", len(names))
		if _, err := Open(b, dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("model.json with %d class names: %v", len(names), err)
		}
	}
	// An empty list is no names at all for a model with a head: refused, not blank labels.
	editJSON(t, modelPath, func(m map[string]any) { m["classes"] = []string{} })
	if _, err := Open(b, dir); err == nil || !strings.Contains(err.Error(), "empty list of class names for the 2 classes") ||
		!strings.Contains(err.Error(), modelPath) {
		t.Errorf("model.json with an empty list of class names: %v", err)
	}
	// A blank name, or one name for two classes, would label predictions wrongly: refused too.
	for _, names := range [][]string{{"left", " "}, {"", "right"}, {"left", "left"}} {
		editJSON(t, modelPath, func(m map[string]any) { m["classes"] = names })
		if _, err := Open(b, dir); err == nil || !strings.Contains(err.Error(), "class names: class") && !strings.Contains(err.Error(), "class names: classes") || !strings.Contains(err.Error(), modelPath) {
			t.Errorf("model.json with class names %q: %v", names, err)
		}
	}
	// The same names in another order: the model opens, but evaluating it on the data set would score its "left"
	// as the data set's "right".
	editJSON(t, modelPath, func(m map[string]any) { m["classes"] = []string{"right", "left"} })
	swapped, err := Open(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := swapped.EvaluateSplit(ds, "test", ""); err == nil || !strings.Contains(err.Error(), `the model's class 0 is "right", `+ds.Name+`'s is "left"`) {
		t.Errorf("evaluating a model of classes right, left on a data set of left, right: %v", err)
	}
	// The attention picture says which images are classified right: the same check.
	if _, _, _, err := swapped.AttentionPicture(ds, "test", 2, 1); err == nil || !strings.Contains(err.Error(), `attention picture: the model's class 0 is "right"`) {
		t.Errorf("the attention picture of a model of classes right, left on a data set of left, right: %v", err)
	}
	editJSON(t, modelPath, func(m map[string]any) { m["classes"] = []string{"left", "right"} })

	// The newest checkpoint cut short: the one before is used, and said, and recorded.
	newest := filepath.Join(dir, "checkpoint-n0000020-step-00000020.bin")
	bin, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newest, bin[:len(bin)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	older, err := Open(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	notes := &strings.Builder{}
	older.WriteNotes(notes)
	if older.Run.Checkpoint.Step != 10 || !strings.Contains(notes.String(), "falling back to checkpoint-n0000010-step-00000010") {
		t.Fatalf("opened %+v with notes %q", older.Run.Checkpoint, notes)
	}
	res, err := older.EvaluateSplit(ds, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkpoint != "checkpoint-n0000010-step-00000010" || res.Steps != 10 || !strings.Contains(res.CheckpointFallback, "cannot be read") {
		t.Errorf("evaluation results of the older checkpoint: checkpoint %q, steps %d, fallback %q", res.Checkpoint, res.Steps, res.CheckpointFallback)
	}
	if got, want := older.EvalResultsFile(ds.Name, "test"), training.EvalResultsFile(dir, ds.Name, "test", 10); got != want {
		t.Errorf("the older checkpoint's evaluation goes to %s, want %s (not the final one's file)", got, want)
	}
}

// TestExportTimmKeepsClassNames: ExportTimm's config.json carries the class names, as its comment says, so that the
// exported weights load back with the same labels and the same predictions.
func TestExportTimmKeepsClassNames(t *testing.T) {
	c, b := tinyRandom(t, 3)
	c.Classes = []string{"cat", "dog", "cow"}
	input := make([]float32, 8*8*3)
	for i := range input {
		input[i] = float32(i%7) / 7
	}
	// Random weights are created at first use; the head starts at zero: give it a bias that orders the classes.
	if _, err := c.Predict(input, 1, 3); err != nil {
		t.Fatal(err)
	}
	if err := c.Store.GetVariable("/" + vitnb.VarHead + "/bias").SetValue(tensors.FromFlatDataAndDimensions([]float32{0.1, 0.5, -0.2}, 3)); err != nil {
		t.Fatal(err)
	}
	c.logits = nil // compiled with the old bias (GoMLX's Go backend may hold weights as constants)
	p1, err := c.Predict(input, 1, 3)
	if err != nil || p1[0].Top[0].Label != "dog" {
		t.Fatalf("prediction before the export: %v %+v", err, p1)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := c.ExportTimm(path, filepath.Join(dir, "config.json")); err != nil {
		t.Fatal(err)
	}
	back, err := Load(b, path, weights.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(back.Classes, ",") != "cat,dog,cow" {
		t.Fatalf("classes after export and load: %v", back.Classes)
	}
	p2, err := back.Predict(input, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p1[0].Top {
		if p1[0].Top[i].Label != p2[0].Top[i].Label || math.Abs(float64(p1[0].Top[i].Logit-p2[0].Top[i].Logit)) > 1e-5 {
			t.Errorf("top %d: exported %+v, original %+v", i, p2[0].Top[i], p1[0].Top[i])
		}
	}
	c.Classes = []string{"cat"}
	if err := c.ExportTimm(filepath.Join(dir, "m2.safetensors"), filepath.Join(dir, "c2.json")); err == nil || !strings.Contains(err.Error(), "1 class names") {
		t.Errorf("exporting 1 class name for 3 classes: %v", err)
	}
}

// TestNilReceivers: the methods that describe a classifier or a result return a plain value or an error for a nil
// one, as the methods that run the model do (String, Finished, Metrics, Batch and WriteText panicked).
func TestNilReceivers(t *testing.T) {
	var c *Classifier
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("nil *Classifier: panic %v", r)
			}
		}()
		if s := c.String(); !strings.Contains(s, "nil") {
			t.Errorf("String() = %q, want it to say nil", s)
		}
		if c.Finished() || c.Metrics() != nil || c.Batch(10, 0) != 0 {
			t.Errorf("nil *Classifier: Finished %v, Metrics %v, Batch %d", c.Finished(), c.Metrics(), c.Batch(10, 0))
		}
	}()
	for name, write := range map[string]func() error{
		"nil *FewShotResult":        func() error { var r *FewShotResult; return r.WriteText(io.Discard) },
		"nil *ProbeResult":          func() error { var r *ProbeResult; return r.WriteText(io.Discard) },
		"ProbeResult without Probe": func() error { return (&ProbeResult{}).WriteText(io.Discard) },
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			if err := write(); err == nil || !strings.Contains(err.Error(), "no results") {
				t.Errorf("%s: got %v, want an error saying there are no results", name, err)
			}
		}()
	}
}
