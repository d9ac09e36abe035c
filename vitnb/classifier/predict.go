package classifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
)

// Prediction is the model's answer for one image.
type Prediction struct {
	// Image names the input (a file name, or "image N").
	Image string `json:"image"`
	// Logits of every class.
	Logits []float32 `json:"logits"`
	// Top are the k most likely classes, best first.
	Top []ClassProb `json:"top"`
}

// Report is a prediction with the model and the backend that made it: what `vit predict -json` prints for each
// image.
type Report struct {
	Preset  string `json:"preset"`
	Weights string `json:"weights,omitempty"`
	Format  string `json:"format,omitempty"`
	Backend string `json:"backend"`
	Prediction
}

// ClassProb is one class of a prediction.
type ClassProb struct {
	Class       int     `json:"class"`
	Label       string  `json:"label,omitempty"`
	Logit       float32 `json:"logit"`
	Probability float64 `json:"probability"`
}

// Logits runs the model on a batch of model input [n, size, size, channels] (already preprocessed) and returns
// float32 logits [n, classes].
func (c *Classifier) Logits(images *tensors.Tensor) (*tensors.Tensor, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if images == nil {
		return nil, errors.New("no images (nil tensor)")
	}
	if c.Config.NumClasses <= 0 {
		return nil, fmt.Errorf("%s has no classification head", c.Config.Name)
	}
	if dims := images.Shape().Dimensions; len(dims) > 0 {
		if err := c.Config.CheckMemoryOn(c.Backend, dims[0], false); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out *tensors.Tensor
	err := exceptions.TryCatch[error](func() {
		if c.logits == nil {
			cfg := c.Config
			c.logits = model.MustNewExec1(c.Backend, c.Store, func(scope *model.Scope, x *Node) *Node {
				return ConvertDType(vitnb.Logits(scope, cfg, x), dtypes.Float32)
			})
		}
		out = c.logits.MustCall1(images)
	})
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", c.Config.Name, vitnb.PlainBackendError(err))
	}
	return out, nil
}

// Predict classifies n images given as model input (flattened NHWC, preprocessed) and returns the k best classes
// of each. The images go through the model in batches (BatchSize, else chosen from the model and the memory:
// vitnb.Config.Batch), checked against the machine's memory first. An input holding NaN or infinite values is an
// error that says so; non-finite logits of a finite input (broken weights) are an error, not a ranking.
func (c *Classifier) Predict(input []float32, n, k int) ([]Prediction, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	s, ch := c.Config.ImageSize, c.Config.Channels
	if n <= 0 || len(input) != n*s*s*ch {
		return nil, fmt.Errorf("predict: %d values for %d images of %dx%dx%d", len(input), n, s, s, ch)
	}
	per := s * s * ch
	return c.stream(n, k, func(i int, dst []float32) error {
		copy(dst, input[i*per:(i+1)*per])
		return nil
	})
}

// PredictImages preprocesses images as the weights expect (Preprocessing.Input) and classifies them, a batch at a
// time (Predict): the batch is checked against the machine's memory before any image is preprocessed, and only one
// batch of images is preprocessed at a time.
func (c *Classifier) PredictImages(images []image.Image, k int) ([]Prediction, error) {
	return c.stream(len(images), k, func(i int, dst []float32) error {
		x, err := c.Preprocessing.Input(images[i], c.Config.Channels)
		if err != nil {
			return fmt.Errorf("image %d: %w", i, err)
		}
		return fill(dst, x)
	})
}

// PredictFiles decodes image files (JPEG, PNG, GIF, BMP, TIFF, WebP) and classifies them as PredictImages does: a
// batch of files at a time, after the same memory check. A folder (or images:FOLDER) stands for every image below
// it (datasets.ImageFiles); what it leaves out is added to Notes, once.
func (c *Classifier) PredictFiles(paths []string, k int) ([]Prediction, error) {
	paths, warnings, err := datasets.ImageFiles(paths)
	if err != nil {
		return nil, err
	}
	if len(warnings) > 0 {
		c.mu.Lock()
		for _, w := range warnings {
			if !slices.Contains(c.Notes, w) {
				c.Notes = append(c.Notes, w)
			}
		}
		c.mu.Unlock()
	}
	preds, err := c.stream(len(paths), k, func(i int, dst []float32) error {
		px, err := datasets.DecodeFile(paths[i])
		if err != nil {
			return err
		}
		x, err := c.Preprocessing.InputPixels(px, c.Config.Channels)
		if err != nil {
			return fmt.Errorf("%s: %w", paths[i], err)
		}
		return fill(dst, x)
	})
	if err != nil {
		return nil, err
	}
	for i := range preds {
		preds[i].Image = paths[i]
	}
	return preds, nil
}

// Batch returns the number of images that go through the model at once when n images are predicted, evaluated or
// explained (n <= 0: as many as come), with extra bytes of memory per image besides the model's activations:
// BatchSize when set (at most n), else vitnb.Config.Batch for its backend; 0 for a nil classifier.
func (c *Classifier) Batch(n int, extra float64) int {
	if c == nil {
		return 0
	}
	if c.BatchSize > 0 {
		if n > 0 {
			return min(c.BatchSize, n)
		}
		return c.BatchSize
	}
	return c.Config.Batch(c.Backend, n, false, extra)
}

// stream classifies n images a batch at a time: fill writes the model input of image i into dst. One input tensor
// is filled again for every batch (a new one each batch was garbage that Go's collector let pile up to 1.5 times
// the batch's memory); the last batch is padded with zeros, so that the model is compiled for one shape.
func (c *Classifier) stream(n, k int, fill func(i int, dst []float32) error) ([]Prediction, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if k <= 0 {
		return nil, fmt.Errorf("predict: top-k must be positive, got %d", k)
	}
	if n <= 0 {
		return nil, fmt.Errorf("predict: no images")
	}
	b := c.Batch(n, 0)
	if err := c.Config.CheckMemoryOn(c.Backend, b, false); err != nil {
		return nil, err
	}
	s, ch, classes := c.Config.ImageSize, c.Config.Channels, c.Config.NumClasses
	per := s * s * ch
	input := tensors.FromShape(shapes.Make(dtypes.Float32, b, s, s, ch))
	defer func() { _ = input.FinalizeAll() }()
	preds := make([]Prediction, 0, n)
	for start := 0; start < n; start += b {
		m := min(b, n-start)
		var err error
		if merr := tensors.MutableFlatData(input, func(flat []float32) {
			clear(flat[m*per:])
			for i := range m {
				if err = fill(start+i, flat[i*per:(i+1)*per]); err != nil {
					return
				}
			}
			if cerr := vitnb.CheckInput(flat[:m*per], per, start); cerr != nil {
				err = fmt.Errorf("predict: %w", cerr)
			}
		}); merr != nil {
			return nil, merr
		}
		if err != nil {
			return nil, err
		}
		// Decoding and preprocessing leave garbage, which Go's collector lets grow up to what is live at its
		// last cycle (the model's pooled buffers once a batch has run): collected here, before the model runs,
		// the peak stays at one batch (measured on the Go backend, Ti/16 blocks in batches of 64: 1.6 times the
		// memory of one batch after four without it), for a few milliseconds a batch.
		runtime.GC()
		out, err := c.Logits(input)
		if err != nil {
			return nil, err
		}
		flat, err := tensors.CopyFlatData[float32](out)
		_ = out.FinalizeAll()
		if err != nil {
			return nil, err
		}
		for i := range m {
			logits := flat[i*classes : (i+1)*classes : (i+1)*classes]
			if err := c.finiteLogits(start+i, logits); err != nil {
				return nil, err
			}
			preds = append(preds, Prediction{Image: fmt.Sprintf("image %d", start+i), Logits: logits, Top: c.top(logits, k)})
		}
	}
	return preds, nil
}

// fill copies the model input x of one image into dst, which must be its size.
func fill(dst, x []float32) error {
	if len(x) != len(dst) {
		return fmt.Errorf("preprocessing gave %d values for an input of %d", len(x), len(dst))
	}
	copy(dst, x)
	return nil
}

// WritePredictions writes preds, made by c on the backend named backendName (c.Backend.Name() when ""), to w as
// `vit predict` prints them: with asJSON one Report per line, else for each image a line "MODEL on IMAGE
// (BACKEND)" and its top classes, one numbered line each.
func (c *Classifier) WritePredictions(w io.Writer, preds []Prediction, backendName string, asJSON bool) error {
	if err := c.usable(); err != nil {
		return err
	}
	if w == nil {
		return errors.New("writing predictions: no writer (nil)")
	}
	if backendName == "" {
		backendName = c.Backend.Name()
	}
	enc := json.NewEncoder(w)
	for _, p := range preds {
		if asJSON {
			if err := enc.Encode(Report{Preset: c.Config.Name, Weights: c.Source, Format: c.Format,
				Backend: backendName, Prediction: p}); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(w, "%s on %s (%s)\n", c, p.Image, backendName); err != nil {
			return err
		}
		for i, t := range p.Top {
			if _, err := fmt.Fprintf(w, "%d. class %d %s  p=%.4f  logit=%.4f\n", i+1, t.Class, t.Label, t.Probability,
				t.Logit); err != nil {
				return err
			}
		}
	}
	return nil
}

// finiteLogits returns an error naming image i and the class when one of its logits is NaN or infinite: the
// weights hold such values, and ranking or explaining them would give nonsense.
func (c *Classifier) finiteLogits(i int, logits []float32) error {
	for j, l := range logits {
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
			return fmt.Errorf("image %d: the model gave a non-finite logit (%g for class %s): its weights hold NaN or infinite values (%s)",
				i, l, c.ClassName(j), c.Source)
		}
	}
	return nil
}

// top returns the k classes with the highest logits, with softmax probabilities.
func (c *Classifier) top(logits []float32, k int) []ClassProb {
	maxLogit := math.Inf(-1)
	for _, l := range logits {
		maxLogit = math.Max(maxLogit, float64(l))
	}
	total := 0.0
	for _, l := range logits {
		total += math.Exp(float64(l) - maxLogit)
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	top := make([]ClassProb, min(k, len(idx)))
	for i, cl := range idx[:len(top)] {
		top[i] = ClassProb{Class: cl, Logit: logits[cl], Probability: math.Exp(float64(logits[cl])-maxLogit) / total}
		if cl < len(c.Classes) {
			top[i].Label = c.Classes[cl]
		}
	}
	return top
}
