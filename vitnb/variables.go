package vitnb

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
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
	if w == nil {
		return errors.New("writing the parameter table: no writer (nil)")
	}
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

// IsModelVariable tells whether name, relative to the model's scope, is one of the names a ViT's VariableShapes
// can list (patch embedding, class token, encoder, pre-logits, head), as opposed to what shares a checkpoint with
// them: the optimizer's state, the global step, the random generator's state, progress metrics.
func IsModelVariable(name string) bool {
	first, _, _ := strings.Cut(name, "/")
	for _, v := range []string{VarPatchKernel, VarClassToken, VarPosEmbedding, VarPreLogits, VarHead} {
		if top, _, _ := strings.Cut(v, "/"); first == top {
			return true
		}
	}
	return false
}

// CheckVariables compares the model variables of a checkpoint (found: name relative to the model's scope and
// shape; names that are not IsModelVariable are ignored) with c.VariableShapes(): every variable of the model must
// be present with its shape, and none of the checkpoint left unused, or a model edited by hand (a config.json that
// says 2 blocks for a checkpoint of 4, or 6) would run on part of its weights, or on random ones. The error is one
// line: the architecture fields that differ, each with the model's value and the checkpoint's (the depth from its
// encoder blocks, the classes from its head, ...), else the first variables that differ.
func (c Config) CheckVariables(found map[string][]int) error {
	want := c.VariableShapes()
	var missing, unused, misshaped []string
	for name, dims := range want {
		got, ok := found[name]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s %v", name, dims))
		case !slices.Equal(got, dims):
			misshaped = append(misshaped, fmt.Sprintf("%s %v in the checkpoint, %v in the model", name, got, dims))
		}
	}
	for name, dims := range found {
		if _, ok := want[name]; !ok && IsModelVariable(name) {
			unused = append(unused, fmt.Sprintf("%s %v", name, dims))
		}
	}
	if len(missing)+len(unused)+len(misshaped) == 0 {
		return nil
	}
	if fields := c.differingFields(found); len(fields) > 0 {
		return fmt.Errorf("the model and the checkpoint differ: %s", strings.Join(fields, "; "))
	}
	var parts []string
	for _, list := range []struct {
		what  string
		names []string
	}{{"missing from the checkpoint", missing}, {"mis-shaped", misshaped}, {"in the checkpoint, unused by the model", unused}} {
		if len(list.names) == 0 {
			continue
		}
		slices.Sort(list.names)
		shown, more := list.names, ""
		if len(shown) > 2 {
			shown, more = shown[:2], fmt.Sprintf(" and %d more", len(shown)-2)
		}
		parts = append(parts, fmt.Sprintf("%d variable(s) %s (%s%s)", len(list.names), list.what, strings.Join(shown, ", "), more))
	}
	return fmt.Errorf("the model (%s) and the checkpoint differ: %s", c, strings.Join(parts, "; "))
}

// differingFields names the architecture fields of c that the shapes of a checkpoint's variables contradict,
// each as "Field: V in the model, W in the checkpoint".
func (c Config) differingFields(found map[string][]int) []string {
	var out []string
	differ := func(field string, model, ckpt any) {
		if model != ckpt {
			out = append(out, fmt.Sprintf("%s %v in the model, %v in the checkpoint", field, model, ckpt))
		}
	}
	blocks := 0
	for name := range found {
		if rest, ok := strings.CutPrefix(name, "Transformer/"); ok {
			var i int
			if _, err := fmt.Sscanf(rest, encoderBlockFormat+"/", &i); err == nil && i+1 > blocks {
				blocks = i + 1
			}
		}
	}
	differ("Depth (encoder blocks)", c.Depth, blocks)
	dim := func(name string, axis int) int {
		if d := found[name]; axis < len(d) {
			return d[axis]
		}
		return 0
	}
	if _, ok := found[VarPatchKernel]; ok {
		differ("PatchSize", c.PatchSize, dim(VarPatchKernel, 0))
		differ("Channels", c.Channels, dim(VarPatchKernel, 2))
		differ("Width", c.Width, dim(VarPatchKernel, 3))
	}
	block0 := BlockScope(0) + "/"
	if _, ok := found[block0+BlockMLP+"/"+MLPDense0+"/bias"]; ok {
		differ("MLPDim", c.MLPDim, dim(block0+BlockMLP+"/"+MLPDense0+"/bias", 0))
	}
	if _, ok := found[block0+BlockAttention+"/query/bias"]; ok {
		differ("Heads", c.Heads, dim(block0+BlockAttention+"/query/bias", 0))
	}
	pooling := PoolMean
	if _, ok := found[VarClassToken]; ok {
		pooling = PoolToken
	}
	differ("Pooling", c.Pooling, pooling)
	if tokens := dim(VarPosEmbedding, 1); len(out) == 0 && tokens > 0 { // tokens tell the image size when the rest agrees
		patches := tokens
		if pooling == PoolToken {
			patches--
		}
		grid := int(math.Round(math.Sqrt(float64(patches))))
		if grid*grid == patches {
			differ("ImageSize", c.ImageSize, grid*c.PatchSize)
		} else {
			differ("tokens", c.NumTokens(), tokens)
		}
	}
	differ("RepresentationSize", c.RepresentationSize, dim(VarPreLogits+"/bias", 0))
	differ("NumClasses (head)", c.NumClasses, dim(VarHead+"/bias", 0))
	return out
}
