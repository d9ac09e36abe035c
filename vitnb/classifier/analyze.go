package classifier

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/gomlx/gomlx/ml/train"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/explain"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// EvalBatch is the most images AttentionPicture draws.
const EvalBatch = 250

// Split returns evaluation batches (in order, no augmentation, the classifier's preprocessing) of the first n
// images of a split of a data set ("train", "validation", "test"; n = 0 for all), Batch(n, 0) images each. With
// subset > 0, the "train" split is first reduced to that many images drawn with seed (datasets.RandomSubset, as a
// training job's Data.TrainImages), so the images a model was trained on can be evaluated.
func (c *Classifier) Split(ds *datasets.Dataset, split string, n, subset int, seed uint64) (*datasets.Pipeline, error) {
	return c.split(ds, split, n, subset, seed, 0)
}

// split is Split in batches of Batch(n, extra) images (extra bytes per image besides the model's activations).
func (c *Classifier) split(ds *datasets.Dataset, split string, n, subset int, seed uint64, extra float64) (*datasets.Pipeline, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if ds == nil {
		return nil, errNoDataset
	}
	if n < 0 || subset < 0 {
		return nil, fmt.Errorf("%s/%s: the number of images and the subset must not be negative, got %d and %d", ds.Name, split, n, subset)
	}
	src, err := ds.Split(split)
	if err != nil {
		return nil, err
	}
	if split == datasets.SplitTrain && subset > 0 {
		src = datasets.RandomSubset(src, subset, seed)
	}
	if n > 0 && n < src.Len() {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		src = &datasets.Subset{Src: src, Index: idx}
	}
	pre := c.Preprocessing
	pre.ImageSize = c.Config.ImageSize
	cfg := pre.Eval(c.Batch(src.Len(), extra))
	cfg.Name = ds.Name + "/" + split
	p, err := datasets.NewPipeline(src, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", ds.Name, split, err)
	}
	return p, nil
}

// errNoDataset is the error of an analysis given a nil data set.
var errNoDataset = errors.New("no data set (nil): load one with datasets.Load")

// checkData tells what keeps c from running over data: c unusable, or no data (a nil interface or nil pointer).
func (c *Classifier) checkData(data train.Dataset) error {
	if err := c.usable(); err != nil {
		return err
	}
	if data == nil {
		return errNoDataset
	}
	if v := reflect.ValueOf(data); v.Kind() == reflect.Pointer && v.IsNil() {
		return errNoDataset
	}
	return nil
}

// Evaluate runs the model over data (inference mode): loss, top-1 and top-5 accuracy, per-class accuracy and
// confusion matrix. The memory check counts batches of data's BatchSize when it has one (a Split), else of Batch.
func (c *Classifier) Evaluate(data train.Dataset) (*training.Metrics, error) {
	if err := c.checkData(data); err != nil {
		return nil, err
	}
	if err := c.Config.CheckMemoryOn(c.Backend, c.dataBatch(data), false); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.eval == nil {
		exec, err := training.NewEvalExec(c.Backend, c.Store, c.Config)
		if err != nil {
			return nil, err
		}
		c.eval = exec
	}
	m, err := training.EvaluateWith(c.eval, c.Config.NumClasses, data)
	if err != nil {
		return nil, fmt.Errorf("evaluating %s on %s: %w", c.Config.Name, data.Name(), err)
	}
	return m, nil
}

// Representations computes the frozen representations (what the head reads) of every image of data, after the
// memory check of Evaluate.
func (c *Classifier) Representations(data train.Dataset) (*training.Features, error) {
	if err := c.checkData(data); err != nil {
		return nil, err
	}
	if err := c.Config.CheckMemoryOn(c.Backend, c.dataBatch(data), false); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.repr == nil {
		exec, err := training.NewRepresentationExec(c.Backend, c.Store, c.Config)
		if err != nil {
			return nil, err
		}
		c.repr = exec
	}
	f, err := training.RepresentationsWith(c.repr, data)
	if err != nil {
		return nil, fmt.Errorf("representations of %s: %w", data.Name(), err)
	}
	return f, nil
}

// dataBatch is the batch size of data (datasets.Pipeline.BatchSize), else Batch(0, 0).
func (c *Classifier) dataBatch(data train.Dataset) int {
	if p, ok := data.(interface{ BatchSize() int }); ok {
		return p.BatchSize()
	}
	return c.Batch(0, 0)
}

// Features computes the frozen representations of the first n images of a split of ds (0: all); for "train",
// of pool images drawn with seed 0 first (Split).
func (c *Classifier) Features(ds *datasets.Dataset, split string, n, pool int) (*training.Features, error) {
	data, err := c.Split(ds, split, n, pool, 0)
	if err != nil {
		return nil, err
	}
	return c.Representations(data)
}

// Inspect runs the model on n images of model input (flattened NHWC) and returns its logits [image][class] and
// the attention weights of every block [image][block], each [heads, tokens, tokens] row-major.
func (c *Classifier) Inspect(input []float32, n int) (logits [][]float32, attention [][][]float32, err error) {
	if err := c.usable(); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inspector == nil {
		if c.inspector, err = vitnb.NewInspector(c.Backend, c.Store, c.Config); err != nil {
			return nil, nil, err
		}
	}
	return c.inspector.Run(input, n)
}

// Explainer returns the classifier's explainer (package explain: raw attention, rollout, gradient-weighted
// relevance, deletion faithfulness), created once and kept with its compiled graphs.
func (c *Classifier) Explainer() (*explain.Explainer, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.explainer == nil {
		e, err := explain.New(c.Backend, c.Store, c.Config)
		if err != nil {
			return nil, err
		}
		c.explainer = e
	}
	return c.explainer, nil
}

// Variable returns the value of a model variable by its checkpoint name (e.g. vitnb.VarPatchKernel) as float32s
// with its dimensions.
func (c *Classifier) Variable(name string) ([]float32, []int, error) {
	if err := c.usable(); err != nil {
		return nil, nil, err
	}
	v := c.Store.GetVariable(name)
	if v == nil {
		return nil, nil, fmt.Errorf("%s has no variable %q", c.Config.Name, name)
	}
	value, err := v.Value()
	if err != nil {
		return nil, nil, err
	}
	return tensorsFloat32(value)
}

// ExportTimm writes the model as timm safetensors at path, with a timm config.json beside it that carries the
// preprocessing and the class names (weights.SaveTimm, weights.WriteTimmConfig).
func (c *Classifier) ExportTimm(path, configPath string) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := weights.SaveTimm(path, c.Store, "/", c.Config); err != nil {
		return err
	}
	if configPath == "" {
		return nil
	}
	return weights.WriteTimmConfig(configPath, c.Config, c.Preprocessing, c.Classes)
}
