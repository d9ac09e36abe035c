// Package cnn is a small convolutional network in GoMLX, the baseline against which the notebooks measure the
// Vision Transformer's lack of image-specific inductive bias (the paper's Section 4.3, Fig. 3 and 4: with few
// training images the CNN's locality and translation equivariance win; with many the ViT catches up). Its model
// function has the signature of vitnb.Logits once the config is bound (the method value cfg.Logits), and Config.NumParams
// and Config.FLOPs let a notebook pick a ViT and a CNN of equal cost.
//
// The network: blocks of a k×k convolution with "same" padding, ReLU and 2×2 max pooling (the VGG pattern,
// Simonyan and Zisserman 2015, one convolution per block), then global average pooling over the remaining grid
// and a linear classifier.
package cnn

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph building reads best with the ops unqualified.
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Config describes one convolutional classifier.
type Config struct {
	// Name is informative ("cnn28", ...).
	Name string
	// ImageSize is the height and width of the square input images, Channels their channels (1 grey, 3 RGB).
	ImageSize, Channels int
	// Filters are the output channels of each block; each block halves the grid (floor), so ImageSize must be
	// at least 2^len(Filters).
	Filters []int
	// KernelSize of the convolutions (3 when 0).
	KernelSize int
	// NumClasses is the size of the classifier.
	NumClasses int
}

// Presets of small CNNs for the notebooks' data: three blocks of 32, 64 and 128 filters (the width doubling at
// each halving of the grid, as VGG). cnn28 has 93,962 parameters and 14.9 MFLOPs per image, about the cost of
// the notebooks' ViT micro28 (139k parameters, 15.8 MFLOPs; TestVariablesAndCounts prints both); for other
// sizes scale Filters (FLOPs grow with their square). Trained like the notebooks' quick micro28 (500 steps of
// 64 Fashion-MNIST images, AdamW 2e-3, 50 warm-up steps, weight decay 0.05, clipping 1; XLA CPU, 115 s) cnn28
// reaches 85.5% on the first 2000 test images, where micro28 reaches 77.8% in 97 s.
var presets = map[string]Config{
	"cnn28": {Name: "cnn28", ImageSize: 28, Channels: 1, Filters: []int{32, 64, 128}, KernelSize: 3, NumClasses: 10},
	"cnn32": {Name: "cnn32", ImageSize: 32, Channels: 3, Filters: []int{32, 64, 128}, KernelSize: 3, NumClasses: 10},
}

// Preset returns a named configuration: "cnn28" (28x28 grey, Fashion-MNIST and MNIST) or "cnn32" (32x32 RGB,
// CIFAR-10), both with 10 classes.
func Preset(name string) (Config, error) {
	c, ok := presets[strings.ToLower(name)]
	if !ok {
		return Config{}, fmt.Errorf("cnn: unknown preset %q (known: cnn28, cnn32)", name)
	}
	c.Filters = append([]int(nil), c.Filters...)
	return c, nil
}

// WithDefaults sets KernelSize to 3 when it is 0.
func (c Config) WithDefaults() Config {
	if c.KernelSize == 0 {
		c.KernelSize = 3
	}
	return c
}

// Validate returns an error naming the first field out of range.
func (c Config) Validate() error {
	for _, p := range []struct {
		name  string
		value int
	}{{"image size", c.ImageSize}, {"channels", c.Channels}, {"kernel size", c.KernelSize}, {"classes", c.NumClasses}} {
		if p.value <= 0 {
			return fmt.Errorf("cnn config %q: %s must be positive, got %d", c.Name, p.name, p.value)
		}
	}
	if len(c.Filters) == 0 {
		return fmt.Errorf("cnn config %q: needs at least one block of filters", c.Name)
	}
	for i, f := range c.Filters {
		if f <= 0 {
			return fmt.Errorf("cnn config %q: filters of block %d must be positive, got %d", c.Name, i, f)
		}
	}
	if c.ImageSize>>len(c.Filters) < 1 {
		return fmt.Errorf("cnn config %q: %d blocks halve a %d-pixel image below one pixel", c.Name, len(c.Filters), c.ImageSize)
	}
	return nil
}

// String returns a one-line summary.
func (c Config) String() string {
	return fmt.Sprintf("CNN %s: %dx%dx%d images, %d blocks of %dx%d convolutions with %v filters, %d classes, %d parameters",
		c.Name, c.ImageSize, c.ImageSize, c.Channels, len(c.Filters), c.KernelSize, c.KernelSize, c.Filters, c.NumClasses, c.NumParams())
}

// BlockScope returns the scope name of block i's convolution, "block_i/conv" (Logits builds it as
// scope.In("block_i").In("conv")).
func BlockScope(i int) string { return fmt.Sprintf("block_%d/conv", i) }

// VariableShapes returns every variable of the model by its name relative to the model scope, with its shape.
func (c Config) VariableShapes() map[string][]int {
	out := map[string][]int{}
	in := c.Channels
	for i, f := range c.Filters {
		out[BlockScope(i)+"/kernel"] = []int{c.KernelSize, c.KernelSize, in, f}
		out[BlockScope(i)+"/bias"] = []int{f}
		in = f
	}
	out["head/kernel"] = []int{in, c.NumClasses}
	out["head/bias"] = []int{c.NumClasses}
	return out
}

// NumParams returns the number of parameters of the model.
func (c Config) NumParams() int {
	total := 0
	for _, dims := range c.VariableShapes() {
		n := 1
		for _, d := range dims {
			n *= d
		}
		total += n
	}
	return total
}

// FLOPs returns the floating-point operations of one forward pass of one image, counting a multiply-add as 2,
// as vitnb.Config.FLOPs does: the convolutions (at their input resolution, "same" padding) and the head;
// ReLU, pooling and bias additions are left out.
func (c Config) FLOPs() int64 {
	var flops int64
	size, in := int64(c.ImageSize), int64(c.Channels)
	k := int64(c.KernelSize)
	for _, f := range c.Filters {
		flops += 2 * size * size * k * k * in * int64(f)
		size, in = size/2, int64(f)
	}
	return flops + 2*in*int64(c.NumClasses)
}

// Classes returns the number of classes, NumClasses.
func (c Config) Classes() int { return c.NumClasses }

// Logits is Logits(scope, c, images): the method value c.Logits is a model function in the form
// train.NewTrainer and model.NewExec take.
func (c Config) Logits(scope *model.Scope, images *Node) *Node { return Logits(scope, c, images) }

// Logits builds the network on images [batch, height, width, channels] (NHWC, values in [-1, 1] as vitnb's
// pipelines give) and returns the class logits [batch, classes], in float32. It panics (GoMLX style, caught
// by the Exec or Trainer) on images that do not match cfg; check cfg with Validate first.
func Logits(scope *model.Scope, cfg Config, images *Node) *Node {
	scope = scope.ResetVisited() // allow building the model more than once with the same scope
	dims := images.Shape().Dimensions
	if images.Rank() != 4 || dims[1] != cfg.ImageSize || dims[2] != cfg.ImageSize || dims[3] != cfg.Channels {
		exceptions.Panicf("cnn %s: images must be [batch, %d, %d, %d], got %s",
			cfg.Name, cfg.ImageSize, cfg.ImageSize, cfg.Channels, images.Shape())
	}
	g := images.Graph()
	x := ConvertDType(images, dtypes.Float32)
	in := cfg.Channels
	for i, f := range cfg.Filters {
		s := scope.In("block_%d", i).In("conv")
		fanIn := cfg.KernelSize * cfg.KernelSize * in
		// He et al. 2015 ("Delving Deep into Rectifiers"): N(0, 2/fan_in) keeps the activations' scale through
		// ReLU layers.
		kernel := variable(s, g, "kernel", math.Sqrt(2/float64(fanIn)), cfg.KernelSize, cfg.KernelSize, in, f)
		bias := variable(s, g, "bias", 0, f)
		x = Convolve(x, kernel).PadSame().Done()
		x = Add(x, Reshape(bias, 1, 1, 1, f))
		x = MaxPool(Max(x, ZerosLike(x))).Window(2).Done() // ReLU, then 2x2 windows with stride 2
		in = f
	}
	x = ReduceMean(x, 1, 2) // global average pooling: [batch, channels]
	head := scope.In("head")
	// LeCun normal N(0, 1/fan_in) for the linear classifier.
	kernel := variable(head, g, "kernel", 1/math.Sqrt(float64(in)), in, cfg.NumClasses)
	bias := variable(head, g, "bias", 0, cfg.NumClasses)
	return nn.Dense(x, kernel, bias, compute.DenseLayoutInputOutputs)
}

// variable returns the float32 variable name of scope with the given shape, initialised N(0, stddev²) (zeros
// when stddev is 0) from the store's random generator (seeded by model.ParamInitialSeed).
func variable(scope *model.Scope, g *Graph, name string, stddev float64, dims ...int) *Node {
	store := scope.Store()
	s := scope.WithInitializer(func(g *Graph, shape shapes.Shape) *Node {
		if stddev == 0 {
			return Zeros(g, shape)
		}
		return MulScalar(store.RandomNormal(g, shape), stddev)
	})
	return s.VariableWithShape(name, shapes.Make(dtypes.Float32, dims...)).NodeValue(g)
}

// Config returns the configuration itself, which run folders record (training.Net).
func (c Config) Config() any { return c }
