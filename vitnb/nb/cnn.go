package nb

import (
	"fmt"
	"io"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/cnn"
	"github.com/vitnb/vitnb/vitnb/training"
)

// CNNRun is the convolutional baseline (package cnn) trained on the data of a TrainSpec by TrainCNN.
type CNNRun struct {
	Config  cnn.Config
	Store   *model.Store
	Backend compute.Backend
	Spec    TrainSpec
	// Seconds is the training's wall time; Steps and ImagesSeen what it ran.
	Seconds           float64
	Steps, ImagesSeen int
	// Eval is the evaluation on the spec's test images (EvalImages of them).
	Eval *training.Metrics
	data *datasets.Dataset
	pre  datasets.Preprocessing
}

// TrainCNN trains the CNN preset (cnn.Preset, e.g. "cnn28") the way TrainOrLoad trains the spec's ViT: through
// the same training loop (training.Run with the CNN as its Net), on the same training images (TrainImages drawn
// with Seed), preprocessing, batches, steps and optimizer (AdamW with the spec's rate, warm-up, cosine decay,
// weight decay and clipping), then evaluates it on the spec's test images. Preset, PatchSize and Depth of the
// spec are not read. The run is kept in memory, not saved: it costs about what the ViT's run of the same spec
// costs (the presets are chosen for it, see package cnn).
func TrainCNN(b compute.Backend, preset string, spec TrainSpec) (*CNNRun, error) {
	if spec.FineTuneFrom != nil {
		return nil, fmt.Errorf("nb: TrainCNN trains from scratch; the spec fine-tunes from %s", spec.FineTuneFrom.Dir())
	}
	cfg, err := cnn.Preset(preset)
	if err != nil {
		return nil, err
	}
	ds, err := datasets.Load(spec.Dataset, datasets.Options{Holdout: -1})
	if err != nil {
		return nil, err
	}
	if cfg.NumClasses != len(ds.Classes) {
		return nil, fmt.Errorf("nb: CNN %s has %d classes, %s has %d", preset, cfg.NumClasses, spec.Dataset, len(ds.Classes))
	}
	src, err := ds.Split(datasets.SplitTrain)
	if err != nil {
		return nil, err
	}
	if spec.TrainImages > 0 && spec.TrainImages < src.Len() {
		src = datasets.RandomSubset(src, spec.TrainImages, spec.Seed)
	}
	pre := datasets.ReferencePreprocessing(cfg.ImageSize, cfg.Channels) // the ViT's: (x-127.5)/127.5
	pcfg := pre.Train(spec.BatchSize, spec.Seed)
	pcfg.Augment, pcfg.Name = false, ds.Name+"/train" // as the ViT's jobs: no augmentation
	data, err := datasets.NewPipeline(src, pcfg)
	if err != nil {
		return nil, err
	}
	job, err := spec.Job() // the ViT's optimizer settings
	if err != nil {
		return nil, err
	}
	run, err := training.NewRun(b, training.Config{Net: cfg, Optimizer: job.Optimizer, BatchSize: spec.BatchSize,
		Seed: int64(spec.Seed), LogEvery: job.LogEvery, Output: io.Discard,
		OnProgress: Progress(fmt.Sprintf("training the CNN %s on %s", cfg.Name, spec.Dataset))})
	if err != nil {
		return nil, err
	}
	defer func() { _ = run.Close() }()
	start := time.Now()
	defer recordSince(start, spentTraining) // for WallTime
	if err := run.Train(data); err != nil {
		return nil, fmt.Errorf("nb: training the CNN %s: %w", cfg.Name, err)
	}
	r := &CNNRun{Config: cfg, Store: run.Store, Backend: b, Spec: spec, Seconds: time.Since(start).Seconds(),
		Steps: run.Step(), ImagesSeen: run.Step() * spec.BatchSize, data: ds, pre: pre}
	if r.Eval, err = r.EvaluateOn(datasets.SplitTest, spec.EvalImages); err != nil {
		return nil, err
	}
	fmt.Printf("CNN %s trained in %.0fs: test accuracy %.1f%% on %d images\n", cfg.Name, r.Seconds, 100*r.Eval.Top1,
		r.Eval.Examples)
	return r, nil
}

// EvaluateOn evaluates the CNN on the first n images of a split of its data set (n = 0: all); for "train", of the
// images it was trained on.
func (r *CNNRun) EvaluateOn(split string, n int) (*training.Metrics, error) {
	src, err := r.data.Split(split)
	if err != nil {
		return nil, err
	}
	if split == datasets.SplitTrain && r.Spec.TrainImages > 0 && r.Spec.TrainImages < src.Len() {
		src = datasets.RandomSubset(src, r.Spec.TrainImages, r.Spec.Seed)
	}
	if n > 0 && n < src.Len() {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		src = &datasets.Subset{Src: src, Index: idx}
	}
	cfg := r.pre.Eval(classifier.EvalBatch)
	cfg.Name = r.data.Name + "/" + split
	p, err := datasets.NewPipeline(src, cfg)
	if err != nil {
		return nil, err
	}
	return training.EvaluateNet(r.Backend, r.Store, r.Config, p)
}
