package nb

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
)

// Backend returns the backend vitnb chooses (package vitnb/backend) and prints the one line that says which and
// why.
func Backend() compute.Backend {
	b, choice, err := backend.New()
	if err != nil {
		panic(err)
	}
	fmt.Println(choice)
	return b
}

// TrainSpec describes a small model trained from scratch for a notebook.
type TrainSpec struct {
	// Dataset is a registered data set of package datasets, e.g. "fashion-mnist".
	Dataset string
	// Preset is the model, e.g. "micro28".
	Preset string
	// Steps and BatchSize of the training run.
	Steps, BatchSize int
	// LearningRate is AdamW's peak rate, reached after WarmupSteps.
	LearningRate float64
	WarmupSteps  int
	// WeightDecay of AdamW (biases, norms and embeddings are spared).
	WeightDecay float64
	// EvalImages is how many test images the evaluation reads (0: the whole test split).
	EvalImages int
	// Seed of the initialisation and of the data order.
	Seed uint64
}

// FashionMNIST returns the notebooks' model: micro28 (patch 4, 49 patches + class token, width 64, 4 blocks of
// 4 heads) trained on Fashion-MNIST: 500 steps of 64 images (about 90 s on 2 cores) with the Quick budget, 2000
// steps of 128 (about 10 minutes) with Full.
func FashionMNIST(budget string) TrainSpec {
	s := TrainSpec{Dataset: "fashion-mnist", Preset: "micro28", BatchSize: 64, LearningRate: 2e-3, WarmupSteps: 50,
		WeightDecay: 0.05, Steps: 500, EvalImages: 2000, Seed: 1}
	if budget == Full {
		s.BatchSize, s.Steps, s.WarmupSteps, s.EvalImages = 128, 2000, 100, 0
	}
	return s
}

// Dir is the folder that holds the run of the spec: $VITNB_RUNS/NAME, by default ~/.cache/vitnb/notebook-runs/NAME
// with a NAME made of every field, so that notebooks sharing a spec share the run.
func (s TrainSpec) Dir() string {
	base := os.Getenv("VITNB_RUNS")
	if base == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		base = filepath.Join(cache, "vitnb", "notebook-runs")
	}
	name := fmt.Sprintf("%s-%s-s%d-b%d-lr%g-w%d-wd%g-e%d-seed%d", s.Dataset, s.Preset, s.Steps, s.BatchSize,
		s.LearningRate, s.WarmupSteps, s.WeightDecay, s.EvalImages, s.Seed)
	return filepath.Join(base, name)
}

// Trained is a model trained (or loaded from its run folder) for a notebook, with the data it was trained on.
type Trained struct {
	Spec    TrainSpec
	Config  vitnb.Config
	Backend compute.Backend
	Store   *model.Store
	Data    *datasets.Dataset
	// Curve is the training loss and accuracy logged during training (metrics.jsonl).
	Curve []training.StepRecord
	// Eval is the evaluation on the test split (EvalImages of it).
	Eval *training.Metrics
	// TrainSeconds is how long training took when it ran (0 when loaded).
	TrainSeconds float64

	inspector *vitnb.Inspector
}

const doneFile = "notebook-eval.json"

// TrainOrLoad returns the model of spec: loaded from spec.Dir() if a previous run finished there, else trained
// (resuming an interrupted run) and evaluated. Training prints a line every few steps.
func TrainOrLoad(b compute.Backend, spec TrainSpec) (*Trained, error) {
	cfg, err := vitnb.Preset(spec.Preset)
	if err != nil {
		return nil, err
	}
	data, err := datasets.Load(spec.Dataset, datasets.Options{Holdout: -1})
	if err != nil {
		return nil, err
	}
	cfg.NumClasses = len(data.Classes)
	t := &Trained{Spec: spec, Config: cfg, Backend: b, Data: data}
	dir := spec.Dir()
	if evalData, err := os.ReadFile(filepath.Join(dir, doneFile)); err == nil {
		if t.Store, err = training.LoadRun(dir); err != nil {
			return nil, err
		}
		t.Eval = new(training.Metrics)
		if err := json.Unmarshal(evalData, t.Eval); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, doneFile), err)
		}
		if t.Curve, err = readCurve(filepath.Join(dir, "metrics.jsonl")); err != nil {
			return nil, err
		}
		fmt.Printf("loaded %s (%d steps, test accuracy %.1f%% on %d images) from %s\n", cfg.Name, spec.Steps,
			100*t.Eval.Top1, t.Eval.Examples, dir)
		return t, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	trainPipe, err := data.Pipeline(datasets.SplitTrain, datasets.Config{Name: "train", BatchSize: spec.BatchSize,
		Shuffle: true, Seed: spec.Seed, Loop: true})
	if err != nil {
		return nil, err
	}
	logEvery := max(spec.Steps/20, 10)
	run, err := training.NewRun(b, training.Config{
		Model: cfg,
		Optimizer: training.OptimizerConfig{Kind: "adamw", LearningRate: spec.LearningRate,
			WarmupSteps: spec.WarmupSteps, TotalSteps: spec.Steps, Decay: "cosine", WeightDecay: spec.WeightDecay,
			ClipNorm: 1},
		BatchSize: spec.BatchSize, Seed: int64(spec.Seed), Dir: dir, Resume: true, LogEvery: logEvery,
		CheckpointEvery: max(spec.Steps/8, 50), // an interrupted run (a cell's time limit) resumes
		Output:          os.Stdout,
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = run.Close() }()
	fmt.Printf("training %s on %s: %d steps of %d images (%s)\n", cfg.Name, spec.Dataset, spec.Steps,
		spec.BatchSize, dir)
	start := time.Now()
	if err := run.Train(trainPipe); err != nil {
		return nil, err
	}
	t.TrainSeconds = time.Since(start).Seconds()
	t.Store = run.Store

	test, err := data.Split(datasets.SplitTest)
	if err != nil {
		return nil, err
	}
	if spec.EvalImages > 0 && spec.EvalImages < test.Len() {
		idx := make([]int, spec.EvalImages)
		for i := range idx {
			idx[i] = i
		}
		test = &datasets.Subset{Src: test, Index: idx}
	}
	evalPipe, err := datasets.NewPipeline(test, datasets.EvalConfig(250, 0))
	if err != nil {
		return nil, err
	}
	if t.Eval, err = training.Evaluate(b, t.Store, cfg, evalPipe); err != nil {
		return nil, err
	}
	if err := training.WriteJSONAtomic(filepath.Join(dir, doneFile), t.Eval); err != nil {
		return nil, err
	}
	if t.Curve, err = readCurve(filepath.Join(dir, "metrics.jsonl")); err != nil {
		return nil, err
	}
	fmt.Printf("trained in %.0fs: test accuracy %.1f%% on %d images\n", t.TrainSeconds, 100*t.Eval.Top1, t.Eval.Examples)
	return t, nil
}

func readCurve(path string) ([]training.StepRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []training.StepRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r training.StepRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// Variable returns the value of a model variable by its checkpoint name (e.g. vitnb.VarPatchKernel) as float32s
// with its dimensions.
func (t *Trained) Variable(name string) ([]float32, []int, error) {
	v := t.Store.GetVariable(name)
	if v == nil {
		return nil, nil, fmt.Errorf("the model has no variable %q", name)
	}
	value, err := v.Value()
	if err != nil {
		return nil, nil, err
	}
	data, err := tensors.CopyFlatData[float32](value)
	return data, value.Shape().Dimensions, err
}

// Images returns test images by index: their values ([-1, 1], NHWC, flattened), their labels and each as a
// picture.
func (t *Trained) Images(indices []int) (pix []float32, labels []int32, err error) {
	test, err := t.Data.Split(datasets.SplitTest)
	if err != nil {
		return nil, nil, err
	}
	for _, i := range indices {
		p, err := test.Load(i)
		if err != nil {
			return nil, nil, err
		}
		for _, v := range p.Pix {
			pix = append(pix, float32(v)/127.5-1)
		}
		labels = append(labels, test.Label(i))
	}
	return pix, labels, nil
}

// Inspect runs the model on n images (values [-1, 1], NHWC, flattened) and returns its logits [n][classes] and
// the attention of every block for every image ([image][block]), through vitnb.Inspector.
func (t *Trained) Inspect(pix []float32, n int) (logits [][]float32, att [][]viz.Attention, err error) {
	cfg := t.Config
	if t.inspector == nil {
		if t.inspector, err = vitnb.NewInspector(t.Backend, t.Store, cfg); err != nil {
			return nil, nil, err
		}
	}
	logits, weights, err := t.inspector.Run(pix, n)
	if err != nil {
		return nil, nil, err
	}
	att = make([][]viz.Attention, n)
	for i, blocks := range weights {
		for _, w := range blocks {
			a, err := viz.NewAttention(w, cfg.Heads, cfg.NumTokens())
			if err != nil {
				return nil, nil, err
			}
			att[i] = append(att[i], a)
		}
	}
	return logits, att, nil
}

// ImageOf returns image i of a flattened NHWC batch in [-1, 1] as a picture.
func (t *Trained) ImageOf(pix []float32, i int) *viz.RGBA {
	cfg := t.Config
	n := cfg.ImageSize * cfg.ImageSize * cfg.Channels
	return Must(viz.FromFloats(pix[i*n:(i+1)*n], cfg.ImageSize, cfg.ImageSize, cfg.Channels, -1, 1))
}

// Samples returns the first n images of a split of a registered data set as pictures, with their class names.
func Samples(dataset, split string, n int) ([]image.Image, []string, error) {
	ds, err := datasets.Load(dataset, datasets.Options{Holdout: -1})
	if err != nil {
		return nil, nil, err
	}
	src, err := ds.Split(split)
	if err != nil {
		return nil, nil, err
	}
	var imgs []image.Image
	var names []string
	for i := 0; i < min(n, src.Len()); i++ {
		p, err := src.Load(i)
		if err != nil {
			return nil, nil, err
		}
		pix := make([]float32, len(p.Pix))
		for j, v := range p.Pix {
			pix[j] = float32(v)
		}
		img, err := viz.FromFloats(pix, p.Height, p.Width, p.Channels, 0, 255)
		if err != nil {
			return nil, nil, err
		}
		imgs = append(imgs, img)
		name := "?"
		if l := int(src.Label(i)); l >= 0 && l < len(ds.Classes) {
			name = ds.Classes[l]
		}
		names = append(names, name)
	}
	return imgs, names, nil
}

// TestBatch returns the first n test images of a registered data set as model input (values in [-1, 1], NHWC,
// flattened) with their labels.
func TestBatch(dataset string, n int) ([]float32, []int32, error) {
	ds, err := datasets.Load(dataset, datasets.Options{Holdout: -1})
	if err != nil {
		return nil, nil, err
	}
	src, err := ds.Split(datasets.SplitTest)
	if err != nil {
		return nil, nil, err
	}
	var pix []float32
	var labels []int32
	for i := 0; i < min(n, src.Len()); i++ {
		p, err := src.Load(i)
		if err != nil {
			return nil, nil, err
		}
		for _, v := range p.Pix {
			pix = append(pix, float32(v)/127.5-1)
		}
		labels = append(labels, src.Label(i))
	}
	return pix, labels, nil
}

// TrainingCurve is the plot of a run's training loss and moving-average accuracy against the step.
func TrainingCurve(t *Trained) viz.Plot {
	var steps, loss, acc []float64
	for _, r := range t.Curve {
		steps = append(steps, float64(r.Step))
		loss = append(loss, r.Loss)
		acc = append(acc, r.Accuracy)
	}
	title := fmt.Sprintf("%s on %s: test accuracy %.1f%% (%d images)", t.Config.Name, t.Spec.Dataset,
		100*t.Eval.Top1, t.Eval.Examples)
	return viz.Plot{Title: title, XLabel: "step", YLabel: "loss / accuracy", Series: []viz.Series{
		{Name: "training loss", X: steps, Y: loss}, {Name: "training accuracy (moving average)", X: steps, Y: acc}}}
}
