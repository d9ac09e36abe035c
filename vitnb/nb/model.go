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
	"github.com/vitnb/vitnb/vitnb/explain"
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

// backendConfig names b as results files do, e.g. "xla:cpu": the configuration chosen by package backend when b
// is its backend, else b's name.
func backendConfig(b compute.Backend) string {
	if chosen, choice, err := backend.New(); err == nil && chosen == b {
		return choice.Config
	}
	return b.Name()
}

// TrainSpec describes a small model trained for a notebook: from scratch (AdamW with warm-up and cosine decay),
// or fine-tuned from another spec's model with the paper's recipe (FineTuneFrom).
type TrainSpec struct {
	// Dataset is a registered data set of package datasets, e.g. "fashion-mnist".
	Dataset string
	// Preset is the model, e.g. "micro28".
	Preset string
	// PatchSize and Depth, when not 0, replace the preset's (patch size must divide the image size).
	PatchSize, Depth int
	// TrainImages, when not 0, trains on that many training images drawn at random with Seed
	// (datasets.RandomSubset: the same images as `vit pretrain -max-train N -seed S`); 0 uses them all.
	TrainImages int
	// Steps and BatchSize of the training run.
	Steps, BatchSize int
	// LearningRate is the peak rate, reached after WarmupSteps.
	LearningRate float64
	WarmupSteps  int
	// WeightDecay of AdamW (biases, norms and embeddings are spared); 0 when fine-tuning.
	WeightDecay float64
	// EvalImages is how many test images the evaluation reads (0: the whole test split).
	EvalImages int
	// Seed of the initialisation, of the data order and of the TrainImages subset.
	Seed uint64
	// FineTuneFrom, when set, fine-tunes the model trained by that spec (trained first if it has not been) as
	// `vit finetune -from` does: the paper's recipe (training.PaperFineTuning: SGD with momentum 0.9, no weight
	// decay, clipping at global norm 1, cosine decay) with a new zero-initialised head. The architecture is
	// FineTuneFrom's: Preset, PatchSize and Depth are not read.
	FineTuneFrom *TrainSpec
	// Fresh trains again even if the run folder holds a finished run (the folder is emptied first).
	Fresh bool
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

// RunsDir is the folder that holds the notebooks' runs: $VITNB_RUNS, by default ~/.cache/vitnb/notebook-runs.
func RunsDir() string {
	if base := os.Getenv("VITNB_RUNS"); base != "" {
		return base
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "vitnb", "notebook-runs")
}

// Dir is the folder that holds the run of the spec: RunsDir()/NAME with a NAME made of every field, so that
// notebooks sharing a spec share the run. A fine-tuning's folder lies inside the folder of the run it starts
// from.
func (s TrainSpec) Dir() string {
	if s.FineTuneFrom != nil {
		name := fmt.Sprintf("finetune-%s%s-s%d-b%d-lr%g-w%d-e%d-seed%d", s.Dataset, s.imagesTag(), s.Steps,
			s.BatchSize, s.LearningRate, s.WarmupSteps, s.EvalImages, s.Seed)
		return filepath.Join(s.FineTuneFrom.Dir(), name)
	}
	arch := s.Preset
	if s.PatchSize > 0 {
		arch += fmt.Sprintf("-p%d", s.PatchSize)
	}
	if s.Depth > 0 {
		arch += fmt.Sprintf("-d%d", s.Depth)
	}
	name := fmt.Sprintf("%s-%s%s-s%d-b%d-lr%g-w%d-wd%g-e%d-seed%d", s.Dataset, arch, s.imagesTag(), s.Steps,
		s.BatchSize, s.LearningRate, s.WarmupSteps, s.WeightDecay, s.EvalImages, s.Seed)
	return filepath.Join(RunsDir(), name)
}

func (s TrainSpec) imagesTag() string {
	if s.TrainImages > 0 {
		return fmt.Sprintf("-n%d", s.TrainImages)
	}
	return ""
}

// Model returns the architecture of the spec (FineTuneFrom's when fine-tuning) with classes classes.
func (s TrainSpec) Model(classes int) (vitnb.Config, error) {
	if s.FineTuneFrom != nil {
		return s.FineTuneFrom.Model(classes)
	}
	cfg, err := vitnb.Preset(s.Preset)
	if err != nil {
		return cfg, err
	}
	if s.PatchSize > 0 {
		cfg.PatchSize = s.PatchSize
		cfg.Name += fmt.Sprintf(" patch %d", s.PatchSize)
	}
	if s.Depth > 0 {
		cfg.Depth = s.Depth
		cfg.Name += fmt.Sprintf(" depth %d", s.Depth)
	}
	cfg.NumClasses = classes
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("the model of %s: %w", s.Dir(), err)
	}
	return cfg, nil
}

// Trained is a model trained (or loaded from its run folder) for a notebook, with the data it was trained on.
type Trained struct {
	Spec    TrainSpec
	Config  vitnb.Config
	Backend compute.Backend
	Store   *model.Store
	Data    *datasets.Dataset
	// Dir is the run folder: checkpoints, config.json, metrics.jsonl and results.json.
	Dir string
	// Curve is the training loss and accuracy logged during training (metrics.jsonl).
	Curve []training.StepRecord
	// Eval is the evaluation on the test split (EvalImages of it).
	Eval *training.Metrics
	// Results is the run's results file (training.ResultsFile): what `vit pretrain` and `vit finetune` write too.
	Results *training.Results
	// TrainSeconds is how long training took when it ran (0 when loaded).
	TrainSeconds float64

	inspector *vitnb.Inspector
}

// TrainOrLoad returns the model of spec: loaded from spec.Dir() if a previous run finished there (its results
// file is written last), else trained (resuming an interrupted run), evaluated on the test split and recorded
// in a results file. Training shows a progress bar in a notebook (a line every few steps elsewhere).
func TrainOrLoad(b compute.Backend, spec TrainSpec) (*Trained, error) {
	data, err := datasets.Load(spec.Dataset, datasets.Options{Holdout: -1})
	if err != nil {
		return nil, err
	}
	cfg, err := spec.Model(len(data.Classes))
	if err != nil {
		return nil, err
	}
	dir := spec.Dir()
	t := &Trained{Spec: spec, Config: cfg, Backend: b, Data: data, Dir: dir}
	resultsPath := filepath.Join(dir, training.ResultsFile)
	if spec.Fresh {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("emptying the run folder for a fresh run: %w", err)
		}
	} else if _, err := os.Stat(resultsPath); err == nil {
		if t.Results, err = training.ReadResults(resultsPath); err != nil {
			return nil, err
		}
		if t.Store, err = training.LoadRun(dir); err != nil {
			return nil, err
		}
		t.Eval = t.Results.Metrics
		if t.Curve, err = readCurve(filepath.Join(dir, "metrics.jsonl")); err != nil {
			return nil, err
		}
		fmt.Printf("loaded %s (%d steps on %s, test accuracy %.1f%% on %d images) from %s\n", cfg.Name, spec.Steps,
			spec.Dataset, 100*t.Eval.Top1, t.Eval.Examples, dir)
		return t, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	command, optCfg := "pretrain", training.OptimizerConfig{Kind: "adamw", LearningRate: spec.LearningRate,
		WarmupSteps: spec.WarmupSteps, TotalSteps: spec.Steps, Decay: "cosine", WeightDecay: spec.WeightDecay,
		ClipNorm: 1}
	var from *Trained
	if spec.FineTuneFrom != nil {
		if spec.WeightDecay != 0 {
			return nil, fmt.Errorf("fine-tuning %s: weight decay must be 0 (the paper fine-tunes with SGD without it), got %g",
				spec.Dataset, spec.WeightDecay)
		}
		if from, err = TrainOrLoad(b, *spec.FineTuneFrom); err != nil {
			return nil, err
		}
		command, optCfg = "finetune", training.PaperFineTuning(spec.Steps, spec.WarmupSteps)
		if spec.LearningRate > 0 {
			optCfg.LearningRate = spec.LearningRate
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the run folder: %w", err)
	}
	trainSrc, err := data.Split(datasets.SplitTrain)
	if err != nil {
		return nil, err
	}
	if spec.TrainImages > 0 {
		trainSrc = datasets.RandomSubset(trainSrc, spec.TrainImages, spec.Seed)
	}
	trainPipe, err := datasets.NewPipeline(trainSrc, datasets.Config{Name: spec.Dataset + "/train",
		BatchSize: spec.BatchSize, Shuffle: true, Seed: spec.Seed, Loop: true})
	if err != nil {
		return nil, fmt.Errorf("%s training data: %w", spec.Dataset, err)
	}
	rcfg := training.Config{
		Model: cfg, Optimizer: optCfg, BatchSize: spec.BatchSize, Seed: int64(spec.Seed), Dir: dir, Resume: true,
		LogEvery:        max(spec.Steps/50, 5),
		CheckpointEvery: max(spec.Steps/8, 50), // an interrupted run (a cell's time limit) resumes
		Output:          os.Stdout,
	}
	if from != nil {
		rcfg.Init = training.InitFromStore(from.Store, cfg, from.Dir, os.Stdout)
	}
	run, err := training.NewRun(b, rcfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = run.Close() }()
	what := fmt.Sprintf("training %s on %s", cfg.Name, spec.Dataset)
	if from != nil {
		what = fmt.Sprintf("fine-tuning %s (trained on %s) on %s", cfg.Name, from.Spec.Dataset, spec.Dataset)
	}
	fmt.Printf("%s: %d steps of %d images from %d training images (%s)\n", what, spec.Steps, spec.BatchSize,
		trainSrc.Len(), dir)
	showProgress(run, what)
	startStep := run.Step()
	start := time.Now()
	if err := run.Train(trainPipe); err != nil {
		return nil, err
	}
	t.TrainSeconds = time.Since(start).Seconds()
	t.Store = run.Store

	if t.Eval, err = t.Evaluate(); err != nil {
		return nil, err
	}
	t.Results = &training.Results{Command: command, Model: cfg, Optimizer: run.Config.Optimizer, Data: spec.Dataset,
		TrainExamples: trainSrc.Len(), EvalSplit: datasets.SplitTest, Backend: backendConfig(b), Steps: run.Step(),
		Devices: 1, BatchSize: spec.BatchSize, Augmentation: "none", WallSeconds: t.TrainSeconds, Metrics: t.Eval,
		Finished: time.Now()}
	if steps := run.Step() - startStep; steps > 0 && t.TrainSeconds > 0 {
		t.Results.ImagesPerSecond = float64(steps*spec.BatchSize) / t.TrainSeconds
	}
	if from != nil {
		t.Results.From = from.Dir
	}
	if err := training.WriteResults(resultsPath, t.Results); err != nil {
		return nil, err
	}
	if t.Curve, err = readCurve(filepath.Join(dir, "metrics.jsonl")); err != nil {
		return nil, err
	}
	fmt.Printf("trained in %.0fs: test accuracy %.1f%% on %d images\n", t.TrainSeconds, 100*t.Eval.Top1, t.Eval.Examples)
	return t, nil
}

// SplitPipeline returns evaluation batches (in order, no augmentation) of n images of a split of the spec's data
// set: for "train", the spec's training images (its random TrainImages, or the whole split) and the first n of
// them; for "test" (or another split), its first n images; n = 0 takes them all.
func SplitPipeline(spec TrainSpec, split string, n int) (*datasets.Pipeline, error) {
	ds, err := datasets.Load(spec.Dataset, datasets.Options{Holdout: -1})
	if err != nil {
		return nil, err
	}
	src, err := ds.Split(split)
	if err != nil {
		return nil, err
	}
	if split == datasets.SplitTrain && spec.TrainImages > 0 {
		src = datasets.RandomSubset(src, spec.TrainImages, spec.Seed)
	}
	if n > 0 && n < src.Len() {
		src = &datasets.Subset{Src: src, Index: firstN(n)}
	}
	p, err := datasets.NewPipeline(src, datasets.Config{Name: spec.Dataset + "/" + split, BatchSize: 250})
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", spec.Dataset, split, err)
	}
	return p, nil
}

// Evaluate runs the model on the spec's test images (the first EvalImages of the test split): loss, top-1 and
// top-5 accuracy, per-class accuracy and confusion matrix (training.Evaluate).
func (t *Trained) Evaluate() (*training.Metrics, error) {
	return t.EvaluateOn(datasets.SplitTest, t.Spec.EvalImages)
}

// EvaluateOn evaluates the model on n images of a split of its data set (see SplitPipeline): on "train", the
// accuracy on images it was trained on, to compare with the test accuracy.
func (t *Trained) EvaluateOn(split string, n int) (*training.Metrics, error) {
	pipe, err := SplitPipeline(t.Spec, split, n)
	if err != nil {
		return nil, err
	}
	m, err := training.Evaluate(t.Backend, t.Store, t.Config, pipe)
	if err != nil {
		return nil, fmt.Errorf("evaluating %s on %s/%s: %w", t.Config.Name, t.Spec.Dataset, split, err)
	}
	return m, nil
}

// Reload returns the model as saved in its run folder: a new store holding the newest checkpoint
// (training.LoadRun), with the same spec, data and evaluation results.
func (t *Trained) Reload() (*Trained, error) {
	store, err := training.LoadRun(t.Dir)
	if err != nil {
		return nil, err
	}
	return &Trained{Spec: t.Spec, Config: t.Config, Backend: t.Backend, Store: store, Data: t.Data, Dir: t.Dir,
		Curve: t.Curve, Eval: t.Eval, Results: t.Results}, nil
}

// Untrained returns the model of t before training: the same architecture, variables initialised afresh with
// the spec's seed (a baseline for the representations of a trained model).
func (t *Trained) Untrained() *Trained {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(t.Spec.Seed))
	return &Trained{Spec: t.Spec, Config: t.Config, Backend: t.Backend, Store: store, Data: t.Data}
}

// Representations computes the frozen representations (what the head reads) of n images of a split of the data
// set of spec (see SplitPipeline: for "train", spec's training images), which need not be the model's own.
func (t *Trained) Representations(spec TrainSpec, split string, n int) (*training.Features, error) {
	pipe, err := SplitPipeline(spec, split, n)
	if err != nil {
		return nil, err
	}
	f, err := training.Representations(t.Backend, t.Store, t.Config, pipe)
	if err != nil {
		return nil, fmt.Errorf("representations of %s/%s: %w", spec.Dataset, split, err)
	}
	return f, nil
}

func firstN(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
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
func (t *Trained) Inspect(pix []float32, n int) (logits [][]float32, att [][]explain.Attention, err error) {
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
	att = make([][]explain.Attention, n)
	for i, blocks := range weights {
		for _, w := range blocks {
			a, err := explain.NewAttention(w, cfg.Heads, cfg.NumTokens())
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
