// Package training trains and evaluates vitnb models as the paper does: AdamW pretraining with warm-up and
// cosine or linear decay, label smoothing and global-norm gradient clipping; SGD-with-momentum fine-tuning
// (Appendix B.1.1); top-1/top-5 accuracy, confusion matrices and the few-shot linear evaluation; checkpoints
// that survive interruption; data-parallel training over several XLA devices (Config.Devices, through GoMLX's
// distributed execution).
//
// It fills the gaps of GoMLX v0.28's optimizers listed in DESIGN.md section 3: decoupled weight decay that
// spares biases, norms and embeddings, SGD momentum, global-norm clipping and learning-rate schedules.
package training

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// OptimizerConfig configures Optimizer.
type OptimizerConfig struct {
	// Kind is "adamw" (pretraining, Section 4.1: Adam with β1=0.9, β2=0.999, weight decay 0.1) or "sgd"
	// (fine-tuning, Appendix B.1.1: SGD with momentum 0.9, no weight decay).
	Kind string
	// LearningRate is the peak learning rate, reached at the end of the warm-up.
	LearningRate float64
	// WarmupSteps of linear warm-up from 0 (10k steps in the paper's pretraining, 500 in fine-tuning).
	WarmupSteps int
	// TotalSteps is the length of the schedule; the rate decays to 0 at TotalSteps.
	TotalSteps int
	// Decay is "cosine" (the paper's fine-tuning), "linear" (its pretraining) or "none".
	Decay string
	// WeightDecay is decoupled (AdamW) weight decay, multiplied by the learning rate as in optax.adamw.
	WeightDecay float64
	// DecayAll applies weight decay to every variable, as the paper's pretraining code does. By default it
	// spares biases, LayerNorm scales, the class token and the position embeddings (timm's and DeiT's
	// no_weight_decay), which helps small models trained from scratch.
	DecayAll bool
	// Beta1, Beta2 and Epsilon of Adam: 0.9, 0.999 and 1e-8 (PyTorch's and optax's; GoMLX's Adam uses 1e-7).
	Beta1, Beta2, Epsilon float64
	// Momentum of SGD: 0.9 in the paper's fine-tuning.
	Momentum float64
	// ClipNorm clips the gradients to this global L2 norm (1 in the paper, Appendix B.1); 0 disables it.
	ClipNorm float64
}

// WithDefaults fills the zero fields with the paper's values for the optimizer kind.
func (c OptimizerConfig) WithDefaults() OptimizerConfig {
	if c.Kind == "" {
		c.Kind = "adamw"
	}
	if c.Decay == "" {
		c.Decay = "cosine"
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Epsilon == 0 {
		c.Epsilon = 1e-8
	}
	if c.Momentum == 0 {
		c.Momentum = 0.9
	}
	return c
}

// Validate returns an error naming the first inconsistent field.
func (c OptimizerConfig) Validate() error {
	switch {
	case c.Kind != "adamw" && c.Kind != "sgd":
		return fmt.Errorf("optimizer must be adamw or sgd, got %q", c.Kind)
	case c.Decay != "cosine" && c.Decay != "linear" && c.Decay != "none":
		return fmt.Errorf("learning-rate decay must be cosine, linear or none, got %q", c.Decay)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return fmt.Errorf("learning rate must be a positive number, got %g", c.LearningRate)
	case c.TotalSteps <= 0:
		return fmt.Errorf("the number of steps must be positive, got %d", c.TotalSteps)
	case c.WarmupSteps < 0 || c.WarmupSteps >= c.TotalSteps:
		return fmt.Errorf("warm-up steps (%d) must be in [0, steps=%d)", c.WarmupSteps, c.TotalSteps)
	case !(c.WeightDecay >= 0) || !(c.ClipNorm >= 0) || math.IsInf(c.WeightDecay+c.ClipNorm, 0):
		return fmt.Errorf("weight decay (%g) and clip norm (%g) must be numbers >= 0", c.WeightDecay, c.ClipNorm)
	case c.Kind == "sgd" && c.WeightDecay > 0:
		return fmt.Errorf("weight decay is for adamw; the paper fine-tunes with SGD without weight decay")
	}
	return nil
}

// LearningRateAt returns the scheduled learning rate at step (1-based, as GoMLX's global step after its
// increment): linear warm-up to LearningRate, then cosine or linear decay to 0 at TotalSteps. It is the Go
// twin of the schedule built in the graph, for plots and tests.
func (c OptimizerConfig) LearningRateAt(step int) float64 {
	s := float64(step)
	if c.WarmupSteps > 0 && s <= float64(c.WarmupSteps) {
		return c.LearningRate * s / float64(c.WarmupSteps)
	}
	progress := (s - float64(c.WarmupSteps)) / float64(c.TotalSteps-c.WarmupSteps)
	progress = math.Min(math.Max(progress, 0), 1)
	switch c.Decay {
	case "cosine":
		return c.LearningRate * 0.5 * (1 + math.Cos(math.Pi*progress))
	case "linear":
		return c.LearningRate * (1 - progress)
	}
	return c.LearningRate
}

// Optimizer implements GoMLX's optimizer.Interface with the schedule, clipping and weight-decay mask of
// OptimizerConfig. Its state (moments or momentum) lives in the store under the scope "optimizer", so
// checkpoints carry it and a resumed run continues exactly.
type Optimizer struct {
	cfg OptimizerConfig
}

var _ optimizer.Interface = (*Optimizer)(nil)

// NewOptimizer validates cfg (after WithDefaults) and returns the optimizer.
func NewOptimizer(cfg OptimizerConfig) (*Optimizer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Optimizer{cfg: cfg}, nil
}

// Config returns the optimizer's configuration.
func (o *Optimizer) Config() OptimizerConfig { return o.cfg }

const optimizerScope = "optimizer"

var _ train.OptimizeWithGradients = (*Optimizer)(nil)

// UpdateGraph implements optimizer.Interface: it computes the gradients of loss, clips them, and updates every
// trainable variable in use.
func (o *Optimizer) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	o.UpdateGraphWithGradients(scope, scope.BuildTrainableVariablesGradientsGraph(loss), loss.DType())
}

// UpdateGraphWithGradients implements train.OptimizeWithGradients, which GoMLX's gradient accumulation
// (train.Trainer.AccumulateGradients) calls with the mean of the accumulated gradients: grads are those of the
// trainable variables in use by the graph, in the store's order (model.Scope.BuildTrainableVariablesGradientsGraph).
func (o *Optimizer) UpdateGraphWithGradients(scope *model.Scope, grads []*Node, _ dtypes.DType) {
	if len(grads) == 0 {
		panic("optimizer: no gradients (the model has no trainable variables in use)")
	}
	g := grads[0].Graph()
	var vars []*model.Variable
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	if len(grads) != len(vars) {
		panic(fmt.Sprintf("optimizer: %d gradients for %d trainable variables", len(grads), len(vars)))
	}
	dtype := dtypes.Float32
	step := optimizer.IncrementGlobalStep(g, dtype) // 1 on the first step.
	lr := o.learningRateGraph(step)
	setLearningRateVar(scope, g, lr)

	if o.cfg.ClipNorm > 0 {
		grads = ClipByGlobalNorm(grads, o.cfg.ClipNorm)
	}
	opt := scope.Store().RootScope().At(optimizerScope)
	for i, v := range vars {
		grad := ConvertDType(grads[i], dtype)
		value := v.NodeValue(g)
		value32 := ConvertDType(value, dtype)
		var update *Node
		if o.cfg.Kind == "sgd" {
			// Momentum as optax.sgd / PyTorch: m = momentum*m + g; w -= lr*m.
			m := stateVar(opt, v, "momentum", dtype)
			mNew := Add(MulScalar(m.NodeValue(g), o.cfg.Momentum), grad)
			m.SetNodeValue(mNew)
			update = Mul(lr, mNew)
		} else {
			// Adam with bias correction, then decoupled weight decay (optax.adamw: the decay is added to the
			// Adam direction before scaling by the learning rate).
			m1 := stateVar(opt, v, "m1", dtype)
			m2 := stateVar(opt, v, "m2", dtype)
			m1New := Add(MulScalar(m1.NodeValue(g), o.cfg.Beta1), MulScalar(grad, 1-o.cfg.Beta1))
			m2New := Add(MulScalar(m2.NodeValue(g), o.cfg.Beta2), MulScalar(Square(grad), 1-o.cfg.Beta2))
			m1.SetNodeValue(m1New)
			m2.SetNodeValue(m2New)
			bc1 := OneMinus(Pow(Scalar(g, dtype, o.cfg.Beta1), step))
			bc2 := OneMinus(Pow(Scalar(g, dtype, o.cfg.Beta2), step))
			direction := Div(Div(m1New, bc1), AddScalar(Sqrt(Div(m2New, bc2)), o.cfg.Epsilon))
			if o.cfg.WeightDecay > 0 && (o.cfg.DecayAll || decays(v)) {
				direction = Add(direction, MulScalar(value32, o.cfg.WeightDecay))
			}
			update = Mul(lr, direction)
		}
		v.SetNodeValue(ConvertDType(Sub(value32, update), value.DType()))
	}
}

// Clear implements optimizer.Interface: it deletes the optimizer state (moments, momentum).
func (o *Optimizer) Clear(scope *model.Scope) error {
	return scope.Store().DeleteVariablesInScope("/" + optimizerScope)
}

// learningRateGraph is LearningRateAt built in the graph from the float step.
func (o *Optimizer) learningRateGraph(step *Node) *Node {
	c := o.cfg
	g := step.Graph()
	peak := Scalar(g, step.DType(), c.LearningRate)
	decayed := peak
	progress := ClipScalar(DivScalar(AddScalar(step, -float64(c.WarmupSteps)), float64(c.TotalSteps-c.WarmupSteps)), 0, 1)
	switch c.Decay {
	case "cosine":
		decayed = MulScalar(AddScalar(Cos(MulScalar(progress, math.Pi)), 1), 0.5*c.LearningRate)
	case "linear":
		decayed = MulScalar(OneMinus(progress), c.LearningRate)
	}
	if c.WarmupSteps == 0 {
		return decayed
	}
	warm := MulScalar(step, c.LearningRate/float64(c.WarmupSteps))
	return Where(LessOrEqual(step, Scalar(g, step.DType(), float64(c.WarmupSteps))), warm, decayed)
}

// setLearningRateVar records the rate of the current step in GoMLX's learning-rate variable, so progress bars
// and checkpoints show it.
func setLearningRateVar(scope *model.Scope, g *Graph, lr *Node) {
	v := optimizer.LearningRateVar(scope.Store().RootScope(), lr.DType(), 0)
	v.SetNodeValue(lr)
}

// stateVar returns the optimizer state variable for v, zero-initialised, named after v's path.
func stateVar(opt *model.Scope, v *model.Variable, kind string, dtype dtypes.DType) *model.Variable {
	name := strings.ReplaceAll(strings.TrimPrefix(v.Path(), "/"), "/", "~") + "~" + kind
	s := opt.WithInitializer(initializer.Zero)
	return s.VariableWithShape(name, shapes.Make(dtype, v.Shape().Dimensions...)).SetTrainable(false)
}

// decays tells whether weight decay applies to v by default: matrices and kernels only, not biases, LayerNorm
// scales, the class token or the position embeddings (timm VisionTransformer.no_weight_decay and its 1-D rule).
func decays(v *model.Variable) bool {
	name := v.Name()
	if name == "cls" || name == "pos_embedding" {
		return false
	}
	return v.Shape().Rank() >= 2
}

// ClipByGlobalNorm scales all gradients by min(1, maxNorm/‖g‖), ‖g‖ the L2 norm of all of them together as one
// vector (optax.clip_by_global_norm; Appendix B.1 clips at 1): their direction is kept. The norm is computed in
// float32 whatever the gradients' dtype; gradients that are all zero stay zero.
func ClipByGlobalNorm(grads []*Node, maxNorm float64) []*Node {
	g := grads[0].Graph()
	sum := Scalar(g, dtypes.Float32, 0)
	for _, grad := range grads {
		sum = Add(sum, ConvertDType(ReduceAllSum(Square(grad)), dtypes.Float32))
	}
	norm := Sqrt(sum)
	scale := Min(Scalar(g, dtypes.Float32, 1), Div(Scalar(g, dtypes.Float32, maxNorm), Max(norm, Scalar(g, dtypes.Float32, 1e-12))))
	clipped := make([]*Node, len(grads))
	for i, grad := range grads {
		clipped[i] = Mul(grad, ConvertDType(scale, grad.DType()))
	}
	return clipped
}
