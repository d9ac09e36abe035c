package cnn

import (
	"errors"
	"fmt"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph building reads best with the ops unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/metric"

	"github.com/vitnb/vitnb/vitnb/training"
)

// TrainOptions set how Train trains: the optimizer, its schedule and the run's length (Optimizer.TotalSteps),
// and the seed of the initialisation.
type TrainOptions struct {
	Optimizer training.OptimizerConfig
	Seed      int64
	// Progress, if set, is called after every step with the step (from 1), the run's length, the batch loss and
	// the moving average of the training accuracy (as the ViT's runs report it).
	Progress func(step, total int, loss, accuracy float64)
}

// Trained is a CNN trained by Train: its variables and what the training cost.
type Trained struct {
	Config  Config
	Store   *model.Store
	Backend compute.Backend
	// Steps run, images seen and the wall time of training.
	Steps, ImagesSeen int
	Seconds           float64
}

// Train trains the CNN cfg on data (batches of images and integer labels that do not run out before
// opts.Optimizer.TotalSteps, such as a datasets.Pipeline made with datasets.TrainConfig) with the optimizer of
// package training (its schedule, clipping and weight-decay mask) and the cross-entropy loss: the same loop
// as the Vision Transformer's runs, so that the two are compared at the same cost.
func Train(b compute.Backend, cfg Config, data train.Dataset, opts TrainOptions) (*Trained, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	steps := opts.Optimizer.TotalSteps
	if steps <= 0 {
		return nil, fmt.Errorf("cnn: training %s: the optimizer's TotalSteps must be positive, got %d", cfg.Name, steps)
	}
	opt, err := training.NewOptimizer(opts.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("cnn: training %s: %w", cfg.Name, err)
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, opts.Seed)
	lossFn := func(labels, logits []*Node) *Node { return training.CrossEntropy(labels[0], logits[0], 0) }
	// The moving average of the training accuracy, with the ViT runs' weight of a new batch (training.Run's).
	accuracy := metric.NewExponentialMovingAverageMetric("Moving Average Accuracy", "~acc", metric.AccuracyMetricType,
		accuracyGraph, nil, 0.01)
	trainer := train.NewTrainer(b, store, cfg.Logits, lossFn, opt, []metric.Interface{accuracy}, nil)
	t := &Trained{Config: cfg, Store: store, Backend: b}
	start := time.Now()
	for batch, err := range data.Iter() {
		if err != nil {
			return nil, fmt.Errorf("cnn: training %s: reading data: %w", cfg.Name, err)
		}
		if len(batch.Inputs) != 1 || len(batch.Labels) != 1 {
			return nil, fmt.Errorf("cnn: training %s: the data must yield one image tensor and one label tensor per batch", cfg.Name)
		}
		n := batch.Inputs[0].Shape().Dimensions[0]
		outs, err := trainer.TrainStep(batch)
		if err != nil {
			return nil, fmt.Errorf("cnn: training %s, step %d: %w", cfg.Name, t.Steps+1, err)
		}
		t.Steps++
		t.ImagesSeen += n
		if opts.Progress != nil && len(outs) > 0 {
			opts.Progress(t.Steps, steps, training.ScalarValue(outs[0]), training.ScalarValue(outs[len(outs)-1]))
		}
		for _, o := range outs {
			_ = o.FinalizeAll()
		}
		if t.Steps == steps {
			break
		}
	}
	t.Seconds = time.Since(start).Seconds()
	if t.Steps < steps {
		return nil, fmt.Errorf("cnn: training %s: the data ran out after %d of %d steps (use a looping pipeline)",
			cfg.Name, t.Steps, steps)
	}
	return t, nil
}

// accuracyGraph is the fraction of a batch whose arg-max logit is the label (labels [batch] or [batch, 1]).
func accuracyGraph(_ *model.Scope, labels, logits []*Node) *Node {
	l := logits[0]
	choice := ArgMax(l, -1, labels[0].DType())
	return ReduceAllMean(ConvertDType(Equal(choice, Reshape(labels[0], l.Shape().Dimensions[0])), l.DType()))
}

// Evaluate measures the trained CNN on data (in order, each image once, such as a datasets.Pipeline made with
// datasets.EvalConfig): top-1 and top-5 accuracy, loss and the confusion matrix (training.EvaluateWith).
func (t *Trained) Evaluate(data train.Dataset) (*training.Metrics, error) {
	exec, err := model.NewExec(t.Backend, t.Store, func(scope *model.Scope, images, labels *Node) (*Node, *Node) {
		logits := t.Config.Logits(scope, images)
		return logits, training.CrossEntropy(labels, logits, 0)
	})
	if err != nil {
		return nil, fmt.Errorf("cnn: evaluating %s: %w", t.Config.Name, err)
	}
	m, err := training.EvaluateWith(exec, t.Config.Classes(), data)
	if err != nil {
		return nil, fmt.Errorf("cnn: evaluating %s: %w", t.Config.Name, err)
	}
	if m.Examples == 0 {
		return nil, errors.New("cnn: evaluating " + t.Config.Name + ": no images")
	}
	return m, nil
}

// Predict returns the logits [n][classes] of n images given as one flat NHWC slice of model input.
func (t *Trained) Predict(pix []float32, n int) ([][]float32, error) {
	c := t.Config
	if want := n * c.ImageSize * c.ImageSize * c.Channels; len(pix) != want {
		return nil, fmt.Errorf("cnn: %d images of %dx%dx%d need %d values, got %d", n, c.ImageSize, c.ImageSize,
			c.Channels, want, len(pix))
	}
	exec, err := model.NewExec(t.Backend, t.Store, c.Logits)
	if err != nil {
		return nil, fmt.Errorf("cnn: %w", err)
	}
	out, err := exec.Call1(tensors.FromFlatDataAndDimensions(pix, n, c.ImageSize, c.ImageSize, c.Channels))
	if err != nil {
		return nil, fmt.Errorf("cnn: predicting with %s: %w", c.Name, err)
	}
	flat := tensors.MustCopyFlatData[float32](out)
	k := c.Classes()
	logits := make([][]float32, n)
	for i := range logits {
		logits[i] = flat[i*k : (i+1)*k]
	}
	return logits, nil
}
