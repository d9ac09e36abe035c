package vitnb

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph building reads best with the ops unqualified.
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/layers/attention"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/vitnb/vitnb/vitnb/backend"
)

// ForwardOptions selects the extra outputs of Forward.
type ForwardOptions struct {
	// ReturnAttention fills Outputs.Attention with every block's attention weights. It forces the plain
	// (unfused) attention formulation.
	ReturnAttention bool
	// ReturnTokens fills Outputs.Tokens with the token embeddings entering the encoder and leaving every block.
	ReturnTokens bool
	// Attention forces the attention formulation (backend.AttentionFused or AttentionDecomposed); the zero value
	// lets backend.AttentionFor choose by backend and $VITNB_ATTENTION. ReturnAttention, attention dropout in
	// training, and training on a backend without a fused attention gradient use the decomposed one regardless.
	Attention backend.Attention
}

// Outputs of the model's forward pass.
type Outputs struct {
	// Logits [batch, classes]; nil if the config has no head (NumClasses == 0).
	Logits *Node
	// Representation [batch, width or representation size] is the pooled image representation that the head
	// reads: the class token (or mean of tokens) after the encoder norm and the pre-logits layer, if any. The
	// paper's few-shot linear evaluation uses it.
	Representation *Node
	// Attention holds, when requested, one [batch, heads, tokens, tokens] tensor per block: the softmax weights
	// with which each query token (third axis) reads each key token (fourth axis).
	Attention []*Node
	// Tokens holds, when requested, Depth+1 tensors [batch, tokens, width]: the input to the first block
	// (patch embeddings, class token and position embeddings) and the output of each block.
	Tokens []*Node
}

// Logits builds the model and returns the class logits [batch, classes] for images [batch, height, width,
// channels] (values scaled to [-1, 1]). Its signature fits train.NewTrainer once cfg is bound:
//
//	modelFn := func(scope *model.Scope, images *graph.Node) *graph.Node { return vitnb.Logits(scope, cfg, images) }
func Logits(scope *model.Scope, cfg Config, images *Node) *Node {
	return Forward(scope, cfg, images, ForwardOptions{}).Logits
}

// Forward builds the Vision Transformer on images [batch, height, width, channels] (NHWC, values scaled to
// [-1, 1]) with variables under scope, named as in Config.VariableShapes. Dropout and drop path are active only
// when the scope is in training mode. It panics (GoMLX style, caught by the Exec/Trainer) on shapes that do not
// match cfg; check cfg with Validate first.
func Forward(scope *model.Scope, cfg Config, images *Node, opts ForwardOptions) Outputs {
	scope = scope.ResetVisited() // Allow calling Forward more than once with the same scope (shared weights).
	var out Outputs

	x := PatchEmbedding(scope.In("embedding"), cfg, images) // [batch, patches, width]
	transformer := scope.In("Transformer")
	x = AddPositionEmbeddings(scope, transformer.In("posembed_input"), cfg, x) // [batch, tokens, width]
	x = dropout(scope, x, cfg.Dropout)

	if opts.ReturnTokens {
		out.Tokens = append(out.Tokens, x)
	}
	for i := 0; i < cfg.Depth; i++ {
		var att *Node
		x, att = EncoderBlock(transformer.In(encoderBlockFormat, i), cfg, i, x, opts)
		if opts.ReturnAttention {
			out.Attention = append(out.Attention, att)
		}
		if opts.ReturnTokens {
			out.Tokens = append(out.Tokens, x)
		}
	}
	x = layerNorm(transformer.In("encoder_norm"), cfg, x)

	// Pooling: the class token or the mean of the tokens (classifier "token" or "gap" in models_vit.py).
	if cfg.Pooling == PoolToken {
		x = Squeeze(Slice(x, AxisRange(), AxisElem(0)), 1)
	} else {
		x = ReduceMean(x, 1)
	}
	if cfg.RepresentationSize > 0 {
		x = Tanh(dense(scope.In("pre_logits"), cfg, x, cfg.RepresentationSize, xavierUniform, zeros))
	}
	out.Representation = x
	if cfg.NumClasses > 0 {
		// The reference code initialises the head to zero (models_vit.py head_kernel_init), as fine-tuning does
		// (Appendix B.1.1).
		out.Logits = dense(scope.In("head"), cfg, x, cfg.NumClasses, zeros, zeros)
		out.Logits.AssertDims(images.Shape().Dimensions[0], cfg.NumClasses)
	}
	return out
}

// PatchEmbedding cuts images [batch, height, width, channels] into non-overlapping patches and projects each
// linearly to the model width: [batch, patches, width], patches in row-major order. It equals the paper's
// stride-p convolution with kernel [p, p, channels, width] (HWIO, the layout of Google's checkpoints), computed
// as a reshape, a transpose and one matrix multiplication.
func PatchEmbedding(scope *model.Scope, cfg Config, images *Node) *Node {
	dims := images.Shape().Dimensions
	if images.Rank() != 4 || dims[1] != cfg.ImageSize || dims[2] != cfg.ImageSize || dims[3] != cfg.Channels {
		exceptions.Panicf("vit %s: images must be [batch, %d, %d, %d], got %s",
			cfg.Name, cfg.ImageSize, cfg.ImageSize, cfg.Channels, images.Shape())
	}
	p := cfg.PatchSize
	x := Patchify(ConvertDType(images, cfg.DType), p)
	fanIn := p * p * cfg.Channels // flax nn.Conv's default init: lecun_normal on the fan-in.
	kernel := variable(scope, images.Graph(), cfg, "kernel", truncatedNormal(1/sqrt(fanIn)), p, p, cfg.Channels, cfg.Width)
	bias := variable(scope, images.Graph(), cfg, "bias", zeros, cfg.Width)
	return nn.Dense(x, Reshape(kernel, fanIn, cfg.Width), bias, compute.DenseLayoutInputOutputs)
}

// Patchify cuts images [batch, height, width, channels] into non-overlapping p x p patches and flattens each:
// [batch, (height/p)·(width/p), p·p·channels], the patches in reading order (row by row of the grid), the values
// of a patch in (row, column, channel) order. It is the token matrix that PatchEmbedding multiplies by its kernel
// (the paper's x_p¹ ... x_p^N of Eq. 1); it panics when p does not divide the height and the width.
func Patchify(images *Node, p int) *Node {
	dims := images.Shape().Dimensions
	if images.Rank() != 4 || p < 1 || dims[1]%p != 0 || dims[2]%p != 0 {
		exceptions.Panicf("vit: patchify: images must be [batch, height, width, channels] with height and width "+
			"multiples of the patch size %d, got %s", p, images.Shape())
	}
	batch, rows, cols, c := dims[0], dims[1]/p, dims[2]/p, dims[3]
	x := Reshape(images, batch, rows, p, cols, p, c) // [b, rows, py, cols, px, c]
	x = TransposeAllAxes(x, 0, 1, 3, 2, 4, 5)        // [b, rows, cols, py, px, c]
	return Reshape(x, batch, rows*cols, p*p*c)       // one flattened patch per token, (py, px, c) order
}

// AddPositionEmbeddings prepends the class token (PoolToken only; variable "cls" in the model's scope) and adds
// the learned position embeddings (variable "pos_embedding" in posScope, initialised N(0, 0.02²) as
// models_vit.py AddPositionEmbs).
func AddPositionEmbeddings(modelScope, posScope *model.Scope, cfg Config, patches *Node) *Node {
	batch := patches.Shape().Dimensions[0]
	x := patches
	if cfg.Pooling == PoolToken {
		cls := variable(modelScope, patches.Graph(), cfg, VarClassToken, zeros, 1, 1, cfg.Width)
		x = Concatenate([]*Node{BroadcastToDims(cls, batch, 1, cfg.Width), x}, 1)
	}
	pos := variable(posScope, patches.Graph(), cfg, "pos_embedding", normal(0.02), 1, cfg.NumTokens(), cfg.Width)
	x = Add(x, pos)
	x.AssertDims(batch, cfg.NumTokens(), cfg.Width)
	return x
}

// EncoderBlock is the pre-LayerNorm Transformer block (Eq. 2 and 3 of the paper):
//
//	x = x + MSA(LN(x));  x = x + MLP(LN(x))
//
// It returns the new tokens and, if opts.ReturnAttention, the attention weights [batch, heads, tokens, tokens];
// opts.Attention chooses the attention formulation (SelfAttention). Block index i sets the drop-path rate, which
// grows linearly with depth as in timm.
func EncoderBlock(scope *model.Scope, cfg Config, i int, x *Node, opts ForwardOptions) (*Node, *Node) {
	dropPathRate := 0.0
	if cfg.Depth > 1 {
		dropPathRate = cfg.DropPath * float64(i) / float64(cfg.Depth-1)
	}
	y := layerNorm(scope.In(BlockNorm1), cfg, x)
	y, att := SelfAttention(scope.In(BlockAttention), cfg, y, opts)
	y = dropout(scope, y, cfg.Dropout)
	x = Add(x, dropPath(scope, y, dropPathRate))

	y = layerNorm(scope.In(BlockNorm2), cfg, x)
	y = MLPBlock(scope.In(BlockMLP), cfg, y)
	x = Add(x, dropPath(scope, y, dropPathRate))
	return x, att
}

// SelfAttention is multi-head scaled dot-product self-attention, softmax(q·kᵀ/√head_dim)·v per head, with
// query/key/value kernels [width, heads, head_dim] and output kernel [heads, head_dim, width] as Google's
// checkpoints store them (heads major: feature index = head*head_dim + d). opts.Attention chooses between the
// backend's fused attention kernel and the decomposed products (backend.AttentionFor: by what is fast on the
// backend); opts.ReturnAttention (or attention dropout in training) selects the decomposed formulation and
// returns the weights [batch, heads, tokens, tokens].
func SelfAttention(scope *model.Scope, cfg Config, x *Node, opts ForwardOptions) (*Node, *Node) {
	batch, tokens := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	d, h, hd := cfg.Width, cfg.Heads, cfg.HeadDim()
	project := func(name string) *Node {
		s := scope.In("%s", name)
		kernel := variable(s, x.Graph(), cfg, "kernel", xavierUniformFan(d, d), d, h, hd)
		bias := variable(s, x.Graph(), cfg, "bias", zeros, h, hd)
		y := nn.Dense(x, Reshape(kernel, d, d), Reshape(bias, d), compute.DenseLayoutInputOutputs)
		return Reshape(y, batch, tokens, h, hd) // [batch, tokens, heads, head_dim]
	}
	// Attention runs heads-before-tokens (BHSD), the layout in which both backends batch its products; the
	// projections give tokens-before-heads (BSHD), so q, k, v and the output are transposed here (faster for
	// inference on XLA CPU, the same elsewhere: docs/RESULTS.md, "Backends and speed").
	toHeads := func(n *Node) *Node { return TransposeAllAxes(n, 0, 2, 1, 3) } // [b, s, h, d] <-> [b, h, s, d]
	q, k, v := toHeads(project("query")), toHeads(project("key")), toHeads(project("value"))

	g := x.Graph()
	training := scope.IsTraining(g)
	formulation, _, err := backend.AttentionFor(g.Backend(), opts.Attention)
	if err != nil {
		exceptions.Panicf("vit %s: %v", cfg.Name, err)
	}
	core := attention.CoreOptions{
		Scale:            1 / sqrt(hd), // The paper's Eq. 5 (Appendix A): 1/sqrt(D_h).
		WantCoefficients: opts.ReturnAttention,
		// The Go backend has no fused attention gradient: with fusion on, training would build the forward twice.
		DisableFusion: formulation == backend.AttentionDecomposed ||
			training && !g.Backend().Capabilities().Operations[compute.OpTypeFusedScaledDotProductAttentionVJP],
	}
	if training && cfg.AttentionDropout > 0 {
		core.Scope = scope
		core.DropoutRate = Scalar(g, cfg.DType, cfg.AttentionDropout)
	}
	y, coefficients := attention.Core(q, k, v, attention.LayoutBHSD, core) // coefficients: [b, h, q, k]
	y = toHeads(y)                                                         // [batch, tokens, heads, head_dim]

	out := scope.In("out")
	kernel := variable(out, x.Graph(), cfg, "kernel", xavierUniformFan(d, d), h, hd, d)
	bias := variable(out, x.Graph(), cfg, "bias", zeros, d)
	y = nn.Dense(Reshape(y, batch, tokens, d), Reshape(kernel, d, d), bias, compute.DenseLayoutInputOutputs)
	return y, coefficients
}

// MLPBlock is Dense(MLPDim) -> GELU -> dropout -> Dense(Width) -> dropout (models_vit.py MlpBlock: Xavier
// uniform kernels, biases N(0, 1e-6²)).
func MLPBlock(scope *model.Scope, cfg Config, x *Node) *Node {
	y := dense(scope.In(MLPDense0), cfg, x, cfg.MLPDim, xavierUniform, normal(1e-6))
	if cfg.GELU == GELUTanh {
		y = activation.GeluApproximate(y)
	} else {
		y = activation.Gelu(y)
	}
	y = dropout(scope, y, cfg.Dropout)
	y = dense(scope.In(MLPDense1), cfg, y, cfg.Width, xavierUniform, normal(1e-6))
	return dropout(scope, y, cfg.Dropout)
}

// layerNorm normalises the last axis with learned "scale" and "bias" and the config's epsilon. Under mixed
// precision it computes in the variables' float32 (as autocast runs layer_norm in float32) and returns cfg.DType.
func layerNorm(scope *model.Scope, cfg Config, x *Node) *Node {
	d := x.Shape().Dimensions[x.Rank()-1]
	scale := paramValue(scope, x.Graph(), cfg, "scale", ones, d)
	bias := paramValue(scope, x.Graph(), cfg, "bias", zeros, d)
	y := nn.LayerNorm(ConvertDType(x, scale.DType()), []int{-1}, cfg.LayerNormEpsilon, scale, bias, nil)
	return ConvertDType(y, cfg.DType)
}

// dense applies x·kernel + bias over the last axis, with variables "kernel" [in, out] and "bias" [out].
func dense(scope *model.Scope, cfg Config, x *Node, outDim int, kernelInit, biasInit initFn) *Node {
	inDim := x.Shape().Dimensions[x.Rank()-1]
	kernel := variable(scope, x.Graph(), cfg, "kernel", kernelInit, inDim, outDim)
	bias := variable(scope, x.Graph(), cfg, "bias", biasInit, outDim)
	return nn.Dense(x, kernel, bias, compute.DenseLayoutInputOutputs)
}

// dropout is active only in training and for rate > 0.
func dropout(scope *model.Scope, x *Node, rate float64) *Node {
	if rate <= 0 || !scope.IsTraining(x.Graph()) {
		return x
	}
	return layers.Dropout(scope, x, Scalar(x.Graph(), x.DType(), rate))
}

// dropPath drops the residual branch x of whole examples with probability rate during training and rescales the
// kept ones by 1/(1-rate), as timm's DropPath (GoMLX's layers.DropPath does not rescale).
func dropPath(scope *model.Scope, x *Node, rate float64) *Node {
	if rate <= 0 || !scope.IsTraining(x.Graph()) {
		return x
	}
	g := x.Graph()
	maskShape := shapes.Make(x.DType(), x.Shape().Dimensions[0])
	for range x.Rank() - 1 {
		maskShape.Dimensions = append(maskShape.Dimensions, 1)
	}
	keep := scope.RandomBernoulli(Scalar(g, x.DType(), 1-rate), maskShape)
	return Mul(x, DivScalar(keep, 1-rate))
}
