// Package vitnb implements the Vision Transformer of "An Image is Worth 16x16 Words: Transformers for Image
// Recognition at Scale" (Dosovitskiy et al., ICLR 2021) on GoMLX.
//
// The model reads top to bottom like google-research/vision_transformer's vit_jax/models_vit.py: patch
// embedding (PatchEmbedding), class token and position embeddings (AddPositionEmbeddings), pre-LayerNorm
// encoder blocks (EncoderBlock) with multi-head self-attention (SelfAttention) and a GELU MLP (MLPBlock), and
// the encoder's loop over the blocks, its final norm and the classifier head (Forward). Variables are named like the keys of Google's .npz
// checkpoints (for instance "Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel"), so
// loading pretrained weights is a name map; Config.VariableShapes lists them all.
//
// Named configurations (presets) for every model of the paper and of timm's zoo are in presets.go.
package vitnb

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
)

// Pooling selects how the encoder output becomes one vector per image.
type Pooling string

const (
	// PoolToken prepends a learned class token and classifies its final embedding (the paper's default,
	// classifier="token" in the reference code).
	PoolToken Pooling = "token"
	// PoolMean has no class token and averages the final token embeddings (classifier="gap" in the reference
	// code; the paper's Appendix D.3 compares both).
	PoolMean Pooling = "gap"
)

// GELU selects the GELU formulation of the MLP blocks.
type GELU string

const (
	// GELUExact is x * Φ(x) with the error function, as PyTorch's nn.GELU() used by timm and Hugging Face.
	GELUExact GELU = "exact"
	// GELUTanh is the tanh approximation, which is what jax.nn.gelu (and so Google's checkpoints) uses by default.
	GELUTanh GELU = "tanh"
)

// MaxDepth bounds Config.Depth (Validate): 20 times the deepest published ViT (48 blocks).
const MaxDepth = 1000

// MaxImageSize bounds Config.ImageSize (Validate): 65,536 pixels a side, one more than the largest side a JPEG
// can record (its frame header holds 16-bit dimensions) and 292 times the 224 of the ViT papers. An image that
// size is 4.3 billion pixels, 24 times what PIL (and datasets.MaxImagePixels) decodes by default, 178,956,970
// ≈ 13,377²; the bound also keeps the patch count, (ImageSize/PatchSize)² ≤ 2³², and ImageSize²·Channels far
// from wrapping around in 64 bits (a side of 2³² gave 2⁶⁴ patches, that is 0, and "1 tokens").
const MaxImageSize = 1 << 16

// Config describes one Vision Transformer. The zero value is not valid: start from a preset (Preset) or fill
// every size field, then call Validate.
type Config struct {
	// Name is the preset name ("B/16", "Ti/16", "small32", ...), informative only.
	Name string

	// ImageSize is the height and width of the (square) input images, in pixels.
	ImageSize int
	// Channels of the input images (3 for RGB, 1 for grey).
	Channels int
	// PatchSize is the height and width of the square patches; ImageSize must be a multiple of it.
	PatchSize int

	// Width is the token embedding size D (the paper's "hidden size").
	Width int
	// Depth is the number of encoder blocks (the paper's "layers").
	Depth int
	// Heads is the number of attention heads; Width must be a multiple of it.
	Heads int
	// MLPDim is the hidden size of the MLP blocks (4 * Width in the paper).
	MLPDim int

	// NumClasses is the size of the classifier head; 0 means no head (the model outputs the representation).
	NumClasses int
	// Pooling is PoolToken (class token) or PoolMean (global average pooling).
	Pooling Pooling
	// RepresentationSize, if > 0, adds the "pre_logits" Dense+tanh layer before the head, as the paper's
	// ImageNet-21k pretraining did (Section 3.1, "MLP with one hidden layer at pre-training time").
	RepresentationSize int

	// Dropout is the dropout rate after the position embeddings, attention output and MLP layers (Appendix B.1:
	// 0.1 for ImageNet training, 0 otherwise).
	Dropout float64
	// AttentionDropout is the dropout rate on the attention weights (0 in the paper).
	AttentionDropout float64
	// DropPath is the stochastic depth rate of the last block; block i uses DropPath*i/(Depth-1), as timm.
	DropPath float64

	// LayerNormEpsilon: 1e-6 in the reference code and timm (GoMLX's default is 1e-3, Hugging Face says 1e-12).
	LayerNormEpsilon float64
	// GELU formulation of the MLP: GELUExact (timm, Hugging Face) or GELUTanh (JAX, Google checkpoints).
	GELU GELU
	// DType of the activations and matrix products (Float32 by default). BFloat16 or Float16 give mixed
	// precision as PyTorch's autocast and JAX's bf16 recipes: the variables stay in float32 (ParamDType), are
	// cast for each use, and LayerNorm computes in float32.
	DType dtypes.DType
}

// ParamDType is the dtype of the variables (weights, checkpoints): DType, except float32 master weights when
// DType is a 16-bit type, so that small updates are not rounded away.
func (c Config) ParamDType() dtypes.DType {
	if c.DType == dtypes.BFloat16 || c.DType == dtypes.Float16 {
		return dtypes.Float32
	}
	return c.DType
}

// NumPatches returns the number of patches per image, (ImageSize/PatchSize)².
func (c Config) NumPatches() int {
	n := c.GridSize()
	return n * n
}

// GridSize returns the number of patches along each side of the image, 0 for a patch size that is not positive
// (a Config that Validate refuses).
func (c Config) GridSize() int {
	if c.PatchSize <= 0 {
		return 0
	}
	return c.ImageSize / c.PatchSize
}

// NumTokens returns the sequence length seen by the encoder: the patches plus the class token, if any.
func (c Config) NumTokens() int {
	if c.Pooling == PoolToken {
		return c.NumPatches() + 1
	}
	return c.NumPatches()
}

// HeadDim returns the size of each attention head, Width/Heads, 0 for a number of heads that is not positive
// (a Config that Validate refuses).
func (c Config) HeadDim() int {
	if c.Heads <= 0 {
		return 0
	}
	return c.Width / c.Heads
}

// WithDefaults fills the optional fields left at their zero value: Channels 3, MLPDim 4*Width, Pooling
// PoolToken, LayerNormEpsilon 1e-6, GELU exact, DType Float32.
func (c Config) WithDefaults() Config {
	if c.Channels == 0 {
		c.Channels = 3
	}
	if c.MLPDim == 0 {
		c.MLPDim = 4 * c.Width
	}
	if c.Pooling == "" {
		c.Pooling = PoolToken
	}
	if c.LayerNormEpsilon == 0 {
		c.LayerNormEpsilon = 1e-6
	}
	if c.GELU == "" {
		c.GELU = GELUExact
	}
	if c.DType == dtypes.InvalidDType {
		c.DType = dtypes.Float32
	}
	return c
}

// Validate returns an error that names the first field that is out of range or inconsistent.
func (c Config) Validate() error {
	positive := []struct {
		name  string
		value int
	}{
		{"image size", c.ImageSize}, {"channels", c.Channels}, {"patch size", c.PatchSize},
		{"width", c.Width}, {"depth", c.Depth}, {"heads", c.Heads}, {"mlp dim", c.MLPDim},
	}
	for _, p := range positive {
		if p.value <= 0 {
			return fmt.Errorf("vit config %q: %s must be positive, got %d", c.Name, p.name, p.value)
		}
	}
	// Everything that loops over the blocks (variable names, parameter tables, the graph) is linear in the depth:
	// bound it far above the deepest published ViTs (48 blocks, ViT-G/14 and ViT-22B) before any of it runs.
	if c.Depth > MaxDepth {
		return fmt.Errorf("vit config %q: depth %d is more than %d blocks", c.Name, c.Depth, MaxDepth)
	}
	if c.ImageSize > MaxImageSize {
		return fmt.Errorf("vit config %q: image size %d is more than %d pixels a side", c.Name, c.ImageSize, MaxImageSize)
	}
	if c.ImageSize%c.PatchSize != 0 {
		return fmt.Errorf("vit config %q: image size %d is not divisible by the patch size %d",
			c.Name, c.ImageSize, c.PatchSize)
	}
	if c.Width%c.Heads != 0 {
		return fmt.Errorf("vit config %q: width %d is not divisible by the number of heads %d", c.Name, c.Width, c.Heads)
	}
	if c.NumClasses < 0 || c.RepresentationSize < 0 {
		return fmt.Errorf("vit config %q: classes (%d) and representation size (%d) must not be negative",
			c.Name, c.NumClasses, c.RepresentationSize)
	}
	if c.Pooling != PoolToken && c.Pooling != PoolMean {
		return fmt.Errorf("vit config %q: pooling must be %q or %q, got %q", c.Name, PoolToken, PoolMean, c.Pooling)
	}
	if c.GELU != GELUExact && c.GELU != GELUTanh {
		return fmt.Errorf("vit config %q: gelu must be %q or %q, got %q", c.Name, GELUExact, GELUTanh, c.GELU)
	}
	for _, r := range []struct {
		name  string
		value float64
	}{{"dropout", c.Dropout}, {"attention dropout", c.AttentionDropout}, {"drop path", c.DropPath}} {
		if !(r.value >= 0 && r.value < 1) { // NaN too
			return fmt.Errorf("vit config %q: %s must be in [0, 1), got %g", c.Name, r.name, r.value)
		}
	}
	if !(c.LayerNormEpsilon > 0) || math.IsInf(c.LayerNormEpsilon, 0) {
		return fmt.Errorf("vit config %q: layer norm epsilon must be a finite number > 0, got %g", c.Name, c.LayerNormEpsilon)
	}
	if !c.DType.IsFloat() {
		return fmt.Errorf("vit config %q: dtype must be a float type, got %s", c.Name, c.DType)
	}
	// Sizes whose parameter count overflows 64 bits (NumParams and ParamTable are then safe to sum in an int).
	if _, err := c.ParamCount(); err != nil {
		return err
	}
	return nil
}

// String returns a one-line summary of the configuration.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ViT %s: %dx%dx%d images, patch %d (%d tokens), width %d, depth %d, heads %d, mlp %d, %s pooling",
		c.Name, c.ImageSize, c.ImageSize, c.Channels, c.PatchSize, c.NumTokens(), c.Width, c.Depth, c.Heads,
		c.MLPDim, c.Pooling)
	if c.RepresentationSize > 0 {
		fmt.Fprintf(&b, ", pre-logits %d", c.RepresentationSize)
	}
	fmt.Fprintf(&b, ", %d classes, gelu %s, %s", c.NumClasses, c.GELU, c.DType)
	return b.String()
}
