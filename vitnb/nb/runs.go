package nb

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gomlx/compute"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/explain"
	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
)

// Backend returns the backend vitnb chooses (package vitnb/backend) and prints the one line that says which and
// why.
func Backend() compute.Backend {
	b, _, err := backend.Open(os.Stdout)
	if err != nil {
		panic(err)
	}
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
	// Holdout, when above 0, holds that fraction of the training split out as a validation split, and
	// EvalEvery evaluates the model on it every that many steps during training (training.Job.EvalEvery): the
	// validation curve, in Trained.Curve's records (StepRecord.Eval).
	Holdout   float64
	EvalEvery int
	// Fresh trains again even if the run folder holds a finished run (its run is deleted first: training.ClearRun).
	Fresh bool
}

// FashionMNIST returns the notebooks' model: micro28 (patch 4, 49 patches + class token, width 64, 4 blocks of
// 4 heads) trained on Fashion-MNIST: 500 steps of 64 images (32,000 images) with the Quick budget, 1200 steps of
// 128 (153,600 images, 2.6 epochs) with Default, 6000 steps of 128 (13 epochs) with Full. What each costs is in
// notebooks/README.md.
func FashionMNIST(budget string) TrainSpec {
	s := TrainSpec{Dataset: "fashion-mnist", Preset: "micro28", BatchSize: 64, LearningRate: 2e-3, WarmupSteps: 50,
		WeightDecay: 0.05, Steps: 500, EvalImages: 2000, Seed: 1}
	switch budget {
	case Default:
		s.BatchSize, s.Steps, s.WarmupSteps, s.EvalImages = 128, 1200, 100, 0
	case Full:
		s.BatchSize, s.Steps, s.WarmupSteps, s.EvalImages = 128, 6000, 200, 0
	}
	return s
}

// RunsDir is the folder that holds the notebooks' runs: $VITNB_RUNS, by default notebook-runs in vitnb's cache
// (files.CacheRoot: $VITNB_CACHE or ~/.cache/vitnb).
func RunsDir() string {
	if base := os.Getenv("VITNB_RUNS"); base != "" {
		return base
	}
	return filepath.Join(files.CacheRoot(), "notebook-runs")
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
	tag := ""
	if s.TrainImages > 0 {
		tag += fmt.Sprintf("-n%d", s.TrainImages)
	}
	if s.Holdout > 0 || s.EvalEvery > 0 {
		tag += fmt.Sprintf("-h%g-ee%d", s.Holdout, s.EvalEvery)
	}
	return tag
}

// Job is the training job of the spec (training.Job), run in its folder Dir(). Fine-tuning takes the
// architecture of FineTuneFrom's run and the paper's recipe (training.PaperFineTuning).
func (s TrainSpec) Job() (training.Job, error) {
	job := training.Job{Command: "pretrain", BatchSize: s.BatchSize, Seed: int64(s.Seed), Dir: s.Dir(),
		Data:            training.Data{Dataset: s.Dataset, Holdout: -1, TrainImages: s.TrainImages, EvalImages: s.EvalImages},
		Optimizer:       training.DefaultPretraining(),
		LogEvery:        max(s.Steps/50, 5),
		CheckpointEvery: max(s.Steps/8, 50), // an interrupted run (a cell's time limit) resumes
	}
	o := &job.Optimizer
	o.LearningRate, o.WarmupSteps, o.TotalSteps, o.WeightDecay = s.LearningRate, s.WarmupSteps, s.Steps, s.WeightDecay
	if s.Holdout > 0 {
		job.Data.Holdout = s.Holdout
	}
	job.EvalEvery = s.EvalEvery
	if s.FineTuneFrom != nil {
		if s.WeightDecay != 0 {
			return job, fmt.Errorf("fine-tuning %s: weight decay must be 0 (the paper fine-tunes with SGD without it), got %g",
				s.Dataset, s.WeightDecay)
		}
		job.Command, job.From, job.Optimizer = "finetune", s.FineTuneFrom.Dir(), training.PaperFineTuning(s.Steps, s.WarmupSteps)
		if s.LearningRate > 0 {
			job.Optimizer.LearningRate = s.LearningRate
		}
		return job, nil
	}
	cfg, err := vitnb.Preset(s.Preset)
	if err != nil {
		return job, err
	}
	if s.PatchSize > 0 {
		cfg.PatchSize = s.PatchSize
		cfg.Name += fmt.Sprintf(" patch %d", s.PatchSize)
	}
	if s.Depth > 0 {
		cfg.Depth = s.Depth
		cfg.Name += fmt.Sprintf(" depth %d", s.Depth)
	}
	cfg.NumClasses = 0 // from the data set
	job.Model = cfg
	return job, nil
}

// Trained is a model trained (or loaded from its run folder) for a notebook: the classifier of package
// classifier with the spec that made it and the data set it was trained on.
type Trained struct {
	*classifier.Classifier
	Spec TrainSpec
	Data *datasets.Dataset
	// Dir is the run folder: checkpoints, config.json, job.json, metrics.jsonl and results.json.
	Dir string
	// Curve is the training loss and accuracy logged during training, sorted by step.
	Curve []training.StepRecord
	// Eval is the evaluation on the test split (EvalImages of it).
	Eval *training.Metrics
	// Results is the run's results file (what `vit pretrain` and `vit finetune` write too).
	Results *training.Results
	// TrainSeconds is how long training took when it ran (0 when loaded).
	TrainSeconds float64
}

// TrainOrLoad returns the model of spec: loaded from spec.Dir() if a previous run finished there, else trained
// (resuming an interrupted run; the model of FineTuneFrom first when fine-tuning) by classifier.Train, with a
// progress bar in the notebook.
func TrainOrLoad(b compute.Backend, spec TrainSpec) (*Trained, error) {
	if spec.FineTuneFrom != nil {
		if _, err := TrainOrLoad(b, *spec.FineTuneFrom); err != nil {
			return nil, err
		}
	}
	job, err := spec.Job()
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("training on %s", spec.Dataset)
	if spec.FineTuneFrom != nil {
		what = fmt.Sprintf("fine-tuning (trained on %s) on %s", spec.FineTuneFrom.Dataset, spec.Dataset)
	}
	start := time.Now()
	c, err := classifier.Train(b, job, classifier.TrainOptions{Resume: !spec.Fresh, Fresh: spec.Fresh,
		Progress: Progress(what), BackendName: backendConfig(b)})
	if err != nil {
		return nil, err
	}
	t, err := wrap(c, spec)
	if err == nil {
		kind := spentLoading
		if t.TrainSeconds > 0 {
			kind = spentTraining
		}
		recordSince(start, kind) // for WallTime
	}
	return t, err
}

func wrap(c *classifier.Classifier, spec TrainSpec) (*Trained, error) {
	data, err := datasets.Load(spec.Dataset, datasets.Options{Holdout: -1})
	if err != nil {
		return nil, err
	}
	t := &Trained{Classifier: c, Spec: spec, Data: data, Dir: c.Run.Dir, Curve: c.Run.Curve, Results: c.Run.Results,
		Eval: c.Metrics(), TrainSeconds: c.Run.TrainSeconds}
	if t.TrainSeconds > 0 {
		fmt.Printf("trained in %.0fs: test accuracy %.1f%% on %d images\n", t.TrainSeconds, 100*t.Eval.Top1, t.Eval.Examples)
	}
	return t, nil
}

// SplitPipeline returns evaluation batches (in order, no augmentation) of n images of a split of the spec's data
// set: for "train", the spec's training images (its random TrainImages, or the whole split) and the first n of
// them; for "test" (or another split), its first n images; n = 0 takes them all.
func (t *Trained) SplitPipeline(spec TrainSpec, split string, n int) (*datasets.Pipeline, error) {
	ds, err := datasets.Load(spec.Dataset, datasets.Options{Holdout: -1})
	if err != nil {
		return nil, err
	}
	return t.Split(ds, split, n, spec.TrainImages, spec.Seed)
}

// Evaluate runs the model on the spec's test images (the first EvalImages of the test split).
func (t *Trained) Evaluate() (*training.Metrics, error) {
	return t.EvaluateOn(datasets.SplitTest, t.Spec.EvalImages)
}

// EvaluateOn evaluates the model on n images of a split of its data set (see SplitPipeline): on "train", the
// accuracy on images it was trained on, to compare with the test accuracy.
func (t *Trained) EvaluateOn(split string, n int) (*training.Metrics, error) {
	pipe, err := t.SplitPipeline(t.Spec, split, n)
	if err != nil {
		return nil, err
	}
	return t.Classifier.Evaluate(pipe)
}

// Reload returns the model as saved in its run folder (classifier.Open), with the same spec.
func (t *Trained) Reload() (*Trained, error) {
	c, err := classifier.Open(t.Backend, t.Dir)
	if err != nil {
		return nil, err
	}
	return wrap(c, t.Spec)
}

// Untrained returns the model of t before training: the same architecture, variables initialised afresh with
// the spec's seed (a baseline for the representations of a trained model).
func (t *Trained) Untrained() *Trained {
	c, err := classifier.Random(t.Backend, t.Config, int64(t.Spec.Seed))
	if err != nil {
		panic(err) // the architecture was valid for t
	}
	c.Preprocessing = t.Preprocessing
	return &Trained{Classifier: c, Spec: t.Spec, Data: t.Data}
}

// Representations computes the frozen representations (what the head reads) of n images of a split of the data
// set of spec (see SplitPipeline: for "train", spec's training images), which need not be the model's own.
func (t *Trained) Representations(spec TrainSpec, split string, n int) (*training.Features, error) {
	pipe, err := t.SplitPipeline(spec, split, n)
	if err != nil {
		return nil, err
	}
	return t.Classifier.Representations(pipe)
}

// Images returns test images by index: their model input (flattened NHWC, the model's preprocessing) and their
// labels.
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
		x, err := t.Preprocessing.InputPixels(p, t.Config.Channels)
		if err != nil {
			return nil, nil, err
		}
		pix = append(pix, x...)
		labels = append(labels, test.Label(i))
	}
	return pix, labels, nil
}

// Inspect runs the model on n images of model input and returns its logits [n][classes] and the attention of
// every block for every image ([image][block]).
func (t *Trained) Inspect(pix []float32, n int) (logits [][]float32, att [][]explain.Attention, err error) {
	logits, weights, err := t.Classifier.Inspect(pix, n)
	if err != nil {
		return nil, nil, err
	}
	cfg := t.Config
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

// ImageOf returns image i of a flattened NHWC batch of model input as a picture.
func (t *Trained) ImageOf(pix []float32, i int) *viz.RGBA {
	cfg := t.Config
	n := cfg.ImageSize * cfg.ImageSize * cfg.Channels
	x := slices.Clone(pix[i*n : (i+1)*n])
	t.Preprocessing.Denormalize(x)
	return Must(viz.FromFloats(x, cfg.ImageSize, cfg.ImageSize, cfg.Channels, 0, 255))
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

// TestBatch returns the first n test images of a registered data set as model input at their own size (the
// reference preprocessing: (x-127.5)/127.5, NHWC, flattened) with their labels.
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
		x, err := datasets.ReferencePreprocessing(p.Height, p.Channels).InputPixels(p, p.Channels)
		if err != nil {
			return nil, nil, err
		}
		pix = append(pix, x...)
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
