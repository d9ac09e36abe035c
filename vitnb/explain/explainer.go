package explain

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph building reads best with the ops unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/vitnb/vitnb/vitnb"
)

// Method names an explanation: a map over the patches of what the decision rests on.
type Method string

const (
	// MethodAttention is the raw attention of the last block (RawAttention).
	MethodAttention Method = "attention"
	// MethodRollout is attention rollout (Rollout).
	MethodRollout Method = "rollout"
	// MethodRelevance is gradient-weighted attention relevance (GradientRelevance).
	MethodRelevance Method = "relevance"
)

// Methods lists the explanations Explain computes, in the order notebooks show them.
var Methods = []Method{MethodAttention, MethodRollout, MethodRelevance}

// Explainer runs a vitnb model in inference mode for the explanations. Its executables are compiled once per
// input shape on first use and kept (model.Exec caches one compiled graph per shape), so explaining batches of
// the same size again costs only the run. The weights are those the store holds when a shape is first run:
// GoMLX's Go backend embeds variables as constants in inference graphs (its PreferConstantsForVariables
// capability), so after changing the weights (more training, other weights loaded) create a new Explainer.
type Explainer struct {
	cfg    vitnb.Config
	prefix int
	// grad: images [n, h, w, c] float32, classes [n] int32 (-1: the predicted one) -> logits [n, classes], the
	// explained classes [n], then per block its attention [n, heads, tokens, tokens] and the gradient of the
	// explained logit with respect to it (same shape), all float32.
	grad *model.Exec
	// probs: images -> softmax probabilities [n, classes] float32, for the deletion curves.
	probs *model.Exec
}

// New prepares explanations for the model cfg with the variables in store (at the root scope, as training and
// the weight loaders leave them) on backend b. The model must have a head (NumClasses > 0).
func New(b compute.Backend, store *model.Store, cfg vitnb.Config) (*Explainer, error) {
	switch {
	case b == nil:
		return nil, errors.New("explain: no backend (nil): use backend.New")
	case store == nil:
		return nil, errors.New("explain: no store of the model's variables (nil *model.Store)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.NumClasses <= 0 {
		return nil, fmt.Errorf("explain: model %q has no classifier head (classes %d): there is no class to explain", cfg.Name, cfg.NumClasses)
	}
	if err := vitnb.CheckDType(b, cfg); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	e := &Explainer{cfg: cfg, prefix: cfg.NumTokens() - cfg.NumPatches()}
	err := exceptions.TryCatch[error](func() {
		e.grad = model.MustNewExec(b, store, func(scope *model.Scope, images, classes *Node) []*Node {
			out := vitnb.Forward(scope, cfg, images, vitnb.ForwardOptions{ReturnAttention: true})
			logits := ConvertDType(out.Logits, dtypes.Float32)
			predicted := ArgMax(logits, -1, dtypes.Int32)
			chosen := Where(GreaterOrEqual(classes, ZerosLike(classes)), classes, predicted)
			// The explained logit y = Σ_i logits[i, class_i]: each image's logit depends only on its own
			// attention, so one gradient gives every image's ∂y_i/∂A. The one-hot mask is a constant.
			y := ReduceAllSum(Mul(logits, StopGradient(OneHot(chosen, cfg.NumClasses, dtypes.Float32))))
			// GoMLX's reverse-mode autodiff takes gradients with respect to any node of the graph, not only
			// variables: the attention nodes are the softmax outputs that the attention output is computed from
			// (ForwardOptions.ReturnAttention selects the unfused formulation), so these are ∂y/∂A exactly.
			grads := Gradient(y, out.Attention...)
			nodes := []*Node{logits, chosen}
			for _, a := range out.Attention {
				nodes = append(nodes, ConvertDType(a, dtypes.Float32))
			}
			for _, g := range grads {
				nodes = append(nodes, ConvertDType(g, dtypes.Float32))
			}
			return nodes
		})
		e.probs = model.MustNewExec(b, store, func(scope *model.Scope, images *Node) *Node {
			return Softmax(ConvertDType(vitnb.Logits(scope, cfg, images), dtypes.Float32), -1)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("explain: preparing model %q: %w", cfg.Name, err)
	}
	return e, nil
}

// Config returns the model's configuration.
func (e *Explainer) Config() vitnb.Config { return e.cfg }

// Explanation holds, for a batch of images, what the model predicts and the explanations of one class per image.
type Explanation struct {
	// Logits [image][class].
	Logits [][]float32
	// Classes [image] are the explained classes: the predicted ones unless others were asked for.
	Classes []int
	// Attention [image][block] are the attention weights.
	Attention [][]Attention
	// Gradients [image][block] are the gradients of the explained class logit with respect to Attention.
	Gradients [][]Attention
	// Maps [method][image] are the explanations, each [patches] in row-major patch order (what PatchMap reads).
	Maps map[Method][][]float64
}

// imageCheck returns an error unless pix holds n images of the model's input shape.
func (e *Explainer) imageCheck(pix []float32, n int) error {
	c := e.cfg
	if n <= 0 {
		return fmt.Errorf("explain: the number of images must be positive, got %d", n)
	}
	if want := n * c.ImageSize * c.ImageSize * c.Channels; len(pix) != want {
		return fmt.Errorf("explain: %d values for %d images of %dx%dx%d (want %d)", len(pix), n, c.ImageSize, c.ImageSize, c.Channels, want)
	}
	if err := vitnb.CheckInput(pix, c.ImageSize*c.ImageSize*c.Channels, 0); err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	return nil
}

// Explain runs the model forward and backward on n images given as one flat NHWC slice in [-1, 1] (the model's
// input) and returns the three explanations of Methods for each. classes, if not nil, chooses the class
// explained for each image (-1: the predicted one); nil explains the predictions. The attention and its
// gradients are kept per head in float64: depth·heads·tokens²·16 bytes per image, 0.6 MB for micro28 but 90 MB
// for ViT-B/16 at 224 pixels, so explain large models a few images at a time.
func (e *Explainer) Explain(pix []float32, n int, classes []int) (*Explanation, error) {
	c := e.cfg
	if err := e.imageCheck(pix, n); err != nil {
		return nil, err
	}
	if classes != nil && len(classes) != n {
		return nil, fmt.Errorf("explain: %d classes given for %d images", len(classes), n)
	}
	want := make([]int32, n)
	for i := range want {
		want[i] = -1
		if classes != nil {
			if classes[i] < -1 || classes[i] >= c.NumClasses {
				return nil, fmt.Errorf("explain: class %d of image %d is not in [0, %d) (or -1 for the predicted one)", classes[i], i, c.NumClasses)
			}
			want[i] = int32(classes[i])
		}
	}
	input := tensors.FromFlatDataAndDimensions(pix, n, c.ImageSize, c.ImageSize, c.Channels)
	outs, err := e.grad.Call(input, tensors.FromFlatDataAndDimensions(want, n))
	if err != nil {
		return nil, fmt.Errorf("explain: running model %q: %w", c.Name, vitnb.PlainBackendError(err))
	}
	defer func() {
		for _, t := range outs {
			_ = t.FinalizeAll()
		}
	}()
	ex := &Explanation{Maps: map[Method][][]float64{}}
	logits := tensors.MustCopyFlatData[float32](outs[0])
	chosen := tensors.MustCopyFlatData[int32](outs[1])
	for i := range n {
		ex.Logits = append(ex.Logits, logits[i*c.NumClasses:(i+1)*c.NumClasses])
		ex.Classes = append(ex.Classes, int(chosen[i]))
	}
	if ex.Attention, err = e.perImage(outs[2:2+c.Depth], n); err != nil {
		return nil, err
	}
	if ex.Gradients, err = e.perImage(outs[2+c.Depth:], n); err != nil {
		return nil, err
	}
	for i := range n {
		raw, err := RawAttention(ex.Attention[i], e.prefix)
		if err != nil {
			return nil, err
		}
		roll, err := Rollout(ex.Attention[i])
		if err != nil {
			return nil, err
		}
		rel, err := GradientRelevance(ex.Attention[i], ex.Gradients[i])
		if err != nil {
			return nil, err
		}
		ex.Maps[MethodAttention] = append(ex.Maps[MethodAttention], raw)
		for _, m := range []struct {
			method Method
			matrix []float64
		}{{MethodRollout, roll}, {MethodRelevance, rel}} {
			p, err := PatchMap(m.matrix, c.NumTokens(), e.prefix)
			if err != nil {
				return nil, err
			}
			ex.Maps[m.method] = append(ex.Maps[m.method], p)
		}
	}
	return ex, nil
}

// perImage splits per-block [n, heads, tokens, tokens] tensors into [image][block] Attention values.
func (e *Explainer) perImage(blocks []*tensors.Tensor, n int) ([][]Attention, error) {
	c := e.cfg
	per := c.Heads * c.NumTokens() * c.NumTokens()
	out := make([][]Attention, n)
	for _, t := range blocks {
		w := tensors.MustCopyFlatData[float32](t)
		for i := range n {
			a, err := NewAttention(w[i*per:(i+1)*per], c.Heads, c.NumTokens())
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], a)
		}
	}
	return out, nil
}

// Probabilities returns the class probabilities (softmax of the logits) [image][class] of n images given as one
// flat NHWC slice in [-1, 1].
func (e *Explainer) Probabilities(pix []float32, n int) ([][]float32, error) {
	c := e.cfg
	if err := e.imageCheck(pix, n); err != nil {
		return nil, err
	}
	out, err := e.probs.Call(tensors.FromFlatDataAndDimensions(pix, n, c.ImageSize, c.ImageSize, c.Channels))
	if err != nil {
		return nil, fmt.Errorf("explain: running model %q: %w", c.Name, vitnb.PlainBackendError(err))
	}
	flat := tensors.MustCopyFlatData[float32](out[0])
	_ = out[0].FinalizeAll()
	probs := make([][]float32, n)
	for i := range n {
		probs[i] = flat[i*c.NumClasses : (i+1)*c.NumClasses]
	}
	return probs, nil
}
