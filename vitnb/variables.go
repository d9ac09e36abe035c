package vitnb

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Variable names, relative to the model's scope, exactly as the keys of Google's .npz checkpoints
// (google-research/vision_transformer, vit_jax/models_vit.py module names).
const (
	VarPatchKernel  = "embedding/kernel"                         // [patch, patch, channels, width] (HWIO)
	VarPatchBias    = "embedding/bias"                           // [width]
	VarClassToken   = "cls"                                      // [1, 1, width]
	VarPosEmbedding = "Transformer/posembed_input/pos_embedding" // [1, tokens, width]
	VarEncoderNorm  = "Transformer/encoder_norm"                 // scale and bias [width]
	VarPreLogits    = "pre_logits"                               // kernel [width, repr], bias [repr]
	VarHead         = "head"                                     // kernel [width or repr, classes], bias [classes]
)

// encoderBlockFormat names encoder block i inside the "Transformer" scope.
const encoderBlockFormat = "encoderblock_%d"

// BlockScope returns the scope name of encoder block i, "Transformer/encoderblock_i".
func BlockScope(i int) string { return "Transformer/" + fmt.Sprintf(encoderBlockFormat, i) }

// Names of the modules inside an encoder block (scope BlockScope(i)), as in the reference Encoder1DBlock and
// MlpBlock (flax numbers its sub-modules in creation order, hence the suffixes). The attention module holds
// "query", "key", "value" and "out", each with "kernel" and "bias"; the norms "scale" and "bias".
const (
	BlockNorm1     = "LayerNorm_0"
	BlockAttention = "MultiHeadDotProductAttention_1"
	BlockNorm2     = "LayerNorm_2"
	BlockMLP       = "MlpBlock_3"
	// MLPDense0 and MLPDense1 are the two layers of the MLP module.
	MLPDense0 = "Dense_0"
	MLPDense1 = "Dense_1"
)

// VariableShapes returns every variable of the model, by its name relative to the model scope, with its shape.
// It is the contract between the model graph (which asserts it creates exactly these) and the weight loaders.
func (c Config) VariableShapes() map[string][]int {
	d, h, hd := c.Width, c.Heads, c.HeadDim()
	p := c.PatchSize
	shapes := map[string][]int{
		VarPatchKernel:            {p, p, c.Channels, d},
		VarPatchBias:              {d},
		VarPosEmbedding:           {1, c.NumTokens(), d},
		VarEncoderNorm + "/scale": {d},
		VarEncoderNorm + "/bias":  {d},
	}
	if c.Pooling == PoolToken {
		shapes[VarClassToken] = []int{1, 1, d}
	}
	for i := 0; i < c.Depth; i++ {
		b := BlockScope(i) + "/"
		for _, norm := range []string{BlockNorm1, BlockNorm2} {
			shapes[b+norm+"/scale"] = []int{d}
			shapes[b+norm+"/bias"] = []int{d}
		}
		att := b + BlockAttention + "/"
		for _, qkv := range []string{"query", "key", "value"} {
			shapes[att+qkv+"/kernel"] = []int{d, h, hd}
			shapes[att+qkv+"/bias"] = []int{h, hd}
		}
		shapes[att+"out/kernel"] = []int{h, hd, d}
		shapes[att+"out/bias"] = []int{d}
		mlp := b + BlockMLP + "/"
		shapes[mlp+MLPDense0+"/kernel"] = []int{d, c.MLPDim}
		shapes[mlp+MLPDense0+"/bias"] = []int{c.MLPDim}
		shapes[mlp+MLPDense1+"/kernel"] = []int{c.MLPDim, d}
		shapes[mlp+MLPDense1+"/bias"] = []int{d}
	}
	repr := d
	if c.RepresentationSize > 0 {
		repr = c.RepresentationSize
		shapes[VarPreLogits+"/kernel"] = []int{d, repr}
		shapes[VarPreLogits+"/bias"] = []int{repr}
	}
	if c.NumClasses > 0 {
		shapes[VarHead+"/kernel"] = []int{repr, c.NumClasses}
		shapes[VarHead+"/bias"] = []int{c.NumClasses}
	}
	return shapes
}

// ParamGroup is one row of a parameter table: a part of the model and its number of parameters.
type ParamGroup struct {
	Part  string
	Count int
}

// NumParams returns the total number of parameters of the model.
func (c Config) NumParams() int {
	total := 0
	for _, g := range c.ParamTable() {
		total += g.Count
	}
	return total
}

// ParamTable groups the parameters by part of the model, in the order of the forward pass: patch embedding,
// class token, position embedding, the encoder blocks (attention, MLP and LayerNorms, summed over blocks),
// encoder norm, pre-logits and head.
func (c Config) ParamTable() []ParamGroup {
	parts := []struct{ part, prefix string }{
		{"patch embedding (embedding)", "embedding/"},
		{"class token (cls)", VarClassToken},
		{"position embedding", VarPosEmbedding},
		{fmt.Sprintf("attention (%d blocks)", c.Depth), "attention"},
		{fmt.Sprintf("mlp (%d blocks)", c.Depth), "mlp"},
		{fmt.Sprintf("block layer norms (%d blocks)", c.Depth), "blocknorm"},
		{"encoder norm", VarEncoderNorm + "/"},
		{"pre-logits", VarPreLogits + "/"},
		{"head", VarHead + "/"},
	}
	counts := map[string]int{}
	for name, shape := range c.VariableShapes() {
		n := 1
		for _, dim := range shape {
			n *= dim
		}
		counts[partOf(name)] += n
	}
	table := make([]ParamGroup, 0, len(parts))
	for _, p := range parts {
		if count, ok := counts[p.prefix]; ok {
			table = append(table, ParamGroup{Part: p.part, Count: count})
		}
	}
	return table
}

// WriteParamTable writes what `vit params` prints: the configuration (String), a table of ParamTable with
// right-aligned counts, and the total (NumParams) as "total N".
func (c Config) WriteParamTable(w io.Writer) error {
	fmt.Fprintln(w, c)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "part\tparameters\t")
	for _, g := range c.ParamTable() {
		fmt.Fprintf(tw, "%s\t%d\t\n", g.Part, g.Count)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "total %d\n", c.NumParams())
	return err
}

// partOf returns the ParamTable key of a variable name.
func partOf(name string) string {
	switch {
	case strings.Contains(name, "/"+BlockAttention+"/"):
		return "attention"
	case strings.Contains(name, "/"+BlockMLP+"/"):
		return "mlp"
	case strings.Contains(name, "/"+BlockNorm1+"/"), strings.Contains(name, "/"+BlockNorm2+"/"):
		return "blocknorm"
	case name == VarClassToken, name == VarPosEmbedding:
		return name
	}
	for _, prefix := range []string{"embedding/", VarEncoderNorm + "/", VarPreLogits + "/", VarHead + "/"} {
		if strings.HasPrefix(name, prefix) {
			return prefix
		}
	}
	return name
}

// FLOPs returns the floating-point operations of one forward pass of one image, counting a multiply-add as 2:
// the patch projection, per block the query/key/value and output projections, the attention scores and the
// weighted sum of values, and the two MLP layers, then the pre-logits and head. Normalisations, softmax,
// GELU and additions (a few percent) are left out, as in the usual "model FLOPs" of MFU figures; training
// costs about 3 times this (forward, and a backward pass twice as expensive).
func (c Config) FLOPs() int64 {
	t, d, m := int64(c.NumTokens()), int64(c.Width), int64(c.MLPDim)
	n, p, ch := int64(c.NumPatches()), int64(c.PatchSize), int64(c.Channels)
	flops := 2 * n * p * p * ch * d
	perBlock := 2*t*d*3*d + 2*t*t*d*2 + 2*t*d*d + 2*t*d*m*2
	flops += int64(c.Depth) * perBlock
	repr := d
	if c.RepresentationSize > 0 {
		flops += 2 * d * int64(c.RepresentationSize)
		repr = int64(c.RepresentationSize)
	}
	return flops + 2*repr*int64(c.NumClasses)
}
