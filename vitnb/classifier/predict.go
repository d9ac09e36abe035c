package classifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"slices"
	"sort"

	"github.com/gomlx/compute/dtypes"
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
		return nil, fmt.Errorf("running %s: %w", c.Config.Name, err)
	}
	return out, nil
}

// Predict classifies n images given as model input (flattened NHWC, preprocessed) and returns the k best classes
// of each. An input holding NaN or infinite values is an error that says so; non-finite logits of a finite input
// (broken weights) are an error, not a ranking.
func (c *Classifier) Predict(input []float32, n, k int) ([]Prediction, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	s, ch := c.Config.ImageSize, c.Config.Channels
	if n <= 0 || len(input) != n*s*s*ch {
		return nil, fmt.Errorf("predict: %d values for %d images of %dx%dx%d", len(input), n, s, s, ch)
	}
	if k <= 0 {
		return nil, fmt.Errorf("predict: top-k must be positive, got %d", k)
	}
	if i := slices.IndexFunc(input, notFinite); i >= 0 {
		return nil, fmt.Errorf("predict: the input of image %d holds %g (value %d of its %d): the input must be finite",
			i/(s*s*ch), input[i], i%(s*s*ch), s*s*ch)
	}
	out, err := c.Logits(tensors.FromFlatDataAndDimensions(input, n, s, s, ch))
	if err != nil {
		return nil, err
	}
	defer func() { _ = out.FinalizeAll() }()
	flat := tensors.MustCopyFlatData[float32](out)
	classes := c.Config.NumClasses
	preds := make([]Prediction, n)
	for i := range preds {
		logits := flat[i*classes : (i+1)*classes]
		if err := c.finiteLogits(i, logits); err != nil {
			return nil, err
		}
		preds[i] = Prediction{Image: fmt.Sprintf("image %d", i), Logits: logits, Top: c.top(logits, k)}
	}
	return preds, nil
}

// PredictImages preprocesses images as the weights expect (Preprocessing.Input) and classifies them. The batch
// is checked against the machine's memory (Config.CheckMemoryOn) before any image is preprocessed.
func (c *Classifier) PredictImages(images []image.Image, k int) ([]Prediction, error) {
	if err := c.checkPredict(len(images), k); err != nil {
		return nil, err
	}
	if err := c.Config.CheckMemoryOn(c.Backend, len(images), false); err != nil {
		return nil, err
	}
	var input []float32
	for i, img := range images {
		x, err := c.Preprocessing.Input(img, c.Config.Channels)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		input = append(input, x...)
	}
	return c.Predict(input, len(images), k)
}

// PredictFiles decodes image files (JPEG, PNG, GIF, BMP, TIFF, WebP) and classifies them (PredictImages), after
// the same memory check.
func (c *Classifier) PredictFiles(paths []string, k int) ([]Prediction, error) {
	if err := c.checkPredict(len(paths), k); err != nil {
		return nil, err
	}
	if err := c.Config.CheckMemoryOn(c.Backend, len(paths), false); err != nil {
		return nil, err
	}
	var input []float32
	for _, p := range paths {
		px, err := datasets.DecodeFile(p)
		if err != nil {
			return nil, err
		}
		x, err := c.Preprocessing.InputPixels(px, c.Config.Channels)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		input = append(input, x...)
	}
	preds, err := c.Predict(input, len(paths), k)
	if err != nil {
		return nil, err
	}
	for i := range preds {
		preds[i].Image = paths[i]
	}
	return preds, nil
}

// checkPredict refuses what the prediction of n images, k classes each, cannot do, before anything is read.
func (c *Classifier) checkPredict(n, k int) error {
	if err := c.usable(); err != nil {
		return err
	}
	switch {
	case n == 0:
		return errors.New("predict: no images")
	case k <= 0:
		return fmt.Errorf("predict: top-k must be positive, got %d", k)
	}
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

// notFinite tells whether x is NaN or infinite.
func notFinite(x float32) bool { return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) }

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
