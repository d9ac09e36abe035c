package weights

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vitnb/vitnb/vitnb"
)

// Format is the naming scheme (and layout) of a checkpoint's keys.
type Format string

const (
	// FormatGoogle is google-research/vision_transformer's .npz: keys as vitnb's variable names
	// ("Transformer/encoderblock_0/MultiHeadDotProductAttention_1/query/kernel"), kernels [in, out], patch kernel
	// HWIO, attention kernels [width, heads, head_dim]. Older files prefix the keys with "opt/target/".
	FormatGoogle Format = "google"
	// FormatHF is Hugging Face transformers' ViTModel / ViTForImageClassification ("vit.encoder.layer.0...").
	FormatHF Format = "hf"
	// FormatTimm is timm's VisionTransformer ("blocks.0.attn.qkv.weight").
	FormatTimm Format = "timm"
)

// patchKeys is the key that identifies each format (after prefix removal).
var patchKeys = map[Format]string{
	FormatGoogle: vitnb.VarPatchKernel,
	FormatHF:     keyFor(FormatHF, vitnb.VarPatchKernel),
	FormatTimm:   keyFor(FormatTimm, vitnb.VarPatchKernel),
}

// normalizeKeys strips the optional prefixes ("opt/target/" of old Google files, "vit." of Hugging Face) and
// returns the map from normalized to raw key, plus the raw keys left out on purpose (an .npz's optimizer state).
func normalizeKeys(raw []string) (map[string]string, []string) {
	hasOptTarget := false
	for _, k := range raw {
		if strings.HasPrefix(k, "opt/target/") {
			hasOptTarget = true
			break
		}
	}
	norm := map[string]string{}
	var ignored []string
	for _, k := range raw {
		n := k
		switch {
		case hasOptTarget && strings.HasPrefix(k, "opt/target/"):
			n = strings.TrimPrefix(k, "opt/target/")
		case hasOptTarget:
			ignored = append(ignored, k) // Optimizer state ("opt/state/...") next to the parameters.
			continue
		case strings.HasPrefix(k, "vit."):
			n = strings.TrimPrefix(k, "vit.")
		}
		norm[n] = k
	}
	return norm, ignored
}

// detectFormat returns the naming scheme of normalized keys.
func detectFormat(keys map[string]string) (Format, error) {
	for _, f := range []Format{FormatGoogle, FormatHF, FormatTimm} {
		if _, ok := keys[patchKeys[f]]; ok {
			return f, nil
		}
	}
	var sample []string
	for k := range keys {
		sample = append(sample, k)
		if len(sample) == 5 {
			break
		}
	}
	return "", fmt.Errorf("not a ViT checkpoint: none of the patch-embedding keys %q (Google), %q (Hugging Face), %q (timm) is in the file (%d keys, e.g. %s)",
		patchKeys[FormatGoogle], patchKeys[FormatHF], patchKeys[FormatTimm], len(keys), strings.Join(sample, ", "))
}

// layout says how a checkpoint tensor (PyTorch layout) holds the values of a vitnb variable (npz layout).
type layout int

const (
	// asIs: the same values in the same order (vectors, the class token, position embeddings; attention kernels
	// [width, heads, head_dim] are the torch [width, width] matrix reshaped).
	asIs layout = iota
	// linear: a torch Linear weight [out, in] is the kernel [in, out] transposed.
	linear
	// patchOIHW: a torch Conv2d weight [width, channels, p, p] is the patch kernel [p, p, channels, width] (HWIO).
	patchOIHW
)

// tensorName is one row of the name table: a vitnb variable and its key in each PyTorch format.
type tensorName struct {
	// vitnb is the variable name relative to the model scope (Google's .npz key).
	vitnb string
	// hf and timm are the keys in Hugging Face's and timm's files ("" when the format has no such tensor).
	hf, timm string
	// dims is the shape of the PyTorch tensor and layout how it maps to the variable.
	dims   []int
	layout layout
	// qkv, for timm, is the part (0 query, 1 key, 2 value) of the tensor that stacks the three along its first
	// axis; -1 for the others.
	qkv int
}

// nameTable is the one name table of checkpoint translation: every variable of a model of config cfg with its
// Hugging Face and timm keys and layout. Loading (rules) and saving (SaveTimm) both read it.
func nameTable(cfg vitnb.Config) []tensorName {
	shapes := cfg.VariableShapes()
	d, m, p, c := cfg.Width, cfg.MLPDim, cfg.PatchSize, cfg.Channels
	var t []tensorName
	add := func(name, hf, timm string, dims []int, l layout) {
		t = append(t, tensorName{vitnb: name, hf: hf, timm: timm, dims: dims, layout: l, qkv: -1})
	}
	add(vitnb.VarPatchKernel, "embeddings.patch_embeddings.projection.weight", "patch_embed.proj.weight",
		[]int{d, c, p, p}, patchOIHW)
	add(vitnb.VarPatchBias, "embeddings.patch_embeddings.projection.bias", "patch_embed.proj.bias", []int{d}, asIs)
	add(vitnb.VarClassToken, "embeddings.cls_token", "cls_token", shapes[vitnb.VarClassToken], asIs)
	add(vitnb.VarPosEmbedding, "embeddings.position_embeddings", "pos_embed", shapes[vitnb.VarPosEmbedding], asIs)
	for i := 0; i < cfg.Depth; i++ {
		b, h, tm := vitnb.BlockScope(i)+"/", fmt.Sprintf("encoder.layer.%d.", i), fmt.Sprintf("blocks.%d.", i)
		for _, ln := range [][3]string{{vitnb.BlockNorm1, "layernorm_before", "norm1"},
			{vitnb.BlockNorm2, "layernorm_after", "norm2"}} {
			add(b+ln[0]+"/scale", h+ln[1]+".weight", tm+ln[2]+".weight", []int{d}, asIs)
			add(b+ln[0]+"/bias", h+ln[1]+".bias", tm+ln[2]+".bias", []int{d}, asIs)
		}
		a := b + vitnb.BlockAttention + "/"
		for j, n := range []string{"query", "key", "value"} {
			t = append(t,
				tensorName{a + n + "/kernel", h + "attention.attention." + n + ".weight", tm + "attn.qkv.weight",
					[]int{d, d}, linear, j},
				tensorName{a + n + "/bias", h + "attention.attention." + n + ".bias", tm + "attn.qkv.bias",
					[]int{d}, asIs, j})
		}
		add(a+"out/kernel", h+"attention.output.dense.weight", tm+"attn.proj.weight", []int{d, d}, linear)
		add(a+"out/bias", h+"attention.output.dense.bias", tm+"attn.proj.bias", []int{d}, asIs)
		mlp := b + vitnb.BlockMLP + "/"
		add(mlp+vitnb.MLPDense0+"/kernel", h+"intermediate.dense.weight", tm+"mlp.fc1.weight", []int{m, d}, linear)
		add(mlp+vitnb.MLPDense0+"/bias", h+"intermediate.dense.bias", tm+"mlp.fc1.bias", []int{m}, asIs)
		add(mlp+vitnb.MLPDense1+"/kernel", h+"output.dense.weight", tm+"mlp.fc2.weight", []int{d, m}, linear)
		add(mlp+vitnb.MLPDense1+"/bias", h+"output.dense.bias", tm+"mlp.fc2.bias", []int{d}, asIs)
	}
	add(vitnb.VarEncoderNorm+"/scale", "layernorm.weight", "norm.weight", []int{d}, asIs)
	add(vitnb.VarEncoderNorm+"/bias", "layernorm.bias", "norm.bias", []int{d}, asIs)
	// Hugging Face's ViTModel pooler (Dense + tanh) is the pre-logits layer; current timm versions no longer have
	// pre_logits.fc.
	r := cfg.RepresentationSize
	add(vitnb.VarPreLogits+"/kernel", "pooler.dense.weight", "pre_logits.fc.weight", []int{r, d}, linear)
	add(vitnb.VarPreLogits+"/bias", "pooler.dense.bias", "pre_logits.fc.bias", []int{r}, asIs)
	add(vitnb.VarHead+"/kernel", "classifier.weight", "head.weight", []int{cfg.NumClasses, reprSize(cfg)}, linear)
	add(vitnb.VarHead+"/bias", "classifier.bias", "head.bias", []int{cfg.NumClasses}, asIs)
	// Only the variables the model has.
	return slices.DeleteFunc(t, func(n tensorName) bool { _, ok := shapes[n.vitnb]; return !ok })
}

// keyFor returns the key of vitnb variable name (relative to the model scope) in a file of format f, "" when the
// format has none.
func keyFor(f Format, name string) string {
	if f == FormatGoogle {
		return name
	}
	// Names do not depend on sizes: a one-block model with every optional part holds them all.
	cfg := vitnb.Config{Width: 1, Depth: 1, Heads: 1, MLPDim: 1, PatchSize: 1, ImageSize: 1, Channels: 1,
		NumClasses: 1, RepresentationSize: 1, Pooling: vitnb.PoolToken}
	for _, n := range nameTable(cfg) {
		if n.vitnb == name {
			if f == FormatHF {
				return n.hf
			}
			return n.timm
		}
	}
	return ""
}

// key returns the tensor's key in format f.
func (n tensorName) key(f Format) string {
	switch f {
	case FormatHF:
		return n.hf
	case FormatTimm:
		return n.timm
	}
	return n.vitnb
}

// fileDims is the shape of the tensor in a file of format f (timm's query, key and value are stacked).
func (n tensorName) fileDims(f Format) []int {
	if f == FormatTimm && n.qkv >= 0 {
		return append([]int{3 * n.dims[0]}, n.dims[1:]...)
	}
	return n.dims
}

// toVariable converts the tensor's values (src, the whole file tensor) into the variable's (dst).
func (n tensorName) toVariable(f Format, src, dst []float32) {
	if f == FormatTimm && n.qkv >= 0 {
		size := len(dst)
		src = src[n.qkv*size : (n.qkv+1)*size]
	}
	switch n.layout {
	case linear:
		transpose2DInto(dst, src, n.dims[0], n.dims[1])
	case patchOIHW:
		transposeNDInto(dst, src, n.dims, []int{2, 3, 1, 0})
	default:
		copy(dst, src)
	}
}

// fromVariable converts the variable's values into the tensor's (its part, for timm's stacked query, key and
// value).
func (n tensorName) fromVariable(v []float32) []float32 {
	switch n.layout {
	case linear:
		return transpose2D(v, n.dims[1], n.dims[0])
	case patchOIHW:
		d, c, p := n.dims[0], n.dims[1], n.dims[2]
		return transposeND(v, []int{p, p, c, d}, []int{3, 2, 0, 1}) // HWIO -> OIHW
	}
	return v
}

// rule says how one model variable (target, a vitnb name) is made from checkpoint tensors (normalized keys) of
// given shapes.
type rule struct {
	target    string
	sources   []string
	srcShapes [][]int
	// convert writes the variable's values (npz layout) into dst from the source values; nil copies the single
	// source.
	convert func(src [][]float32, dst []float32)
}

// rules returns, for checkpoint format f holding a model of config cfg, how every variable of
// cfg.VariableShapes() is read (from the name table); plus the keys the format may hold that the model does not use
// (HF's pooler when a classifier is present).
func rules(f Format, cfg vitnb.Config) (rs []rule, optional []string) {
	for _, n := range nameTable(cfg) {
		r := rule{target: n.vitnb, sources: []string{n.key(f)}, srcShapes: [][]int{n.fileDims(f)}}
		if f == FormatGoogle {
			r.srcShapes = [][]int{cfg.VariableShapes()[n.vitnb]}
		} else if n.layout != asIs || n.qkv >= 0 {
			r.convert = func(src [][]float32, dst []float32) { n.toVariable(f, src[0], dst) }
		}
		rs = append(rs, r)
	}
	if f == FormatHF && cfg.RepresentationSize == 0 {
		// ViTForImageClassification classifies the normed class token and has no pooler; a ViTModel saved with
		// its pooler next to a classifier keeps a pooler that classification never uses.
		optional = append(optional, keyFor(FormatHF, vitnb.VarPreLogits+"/kernel"),
			keyFor(FormatHF, vitnb.VarPreLogits+"/bias"))
	}
	return rs, optional
}

// reprSize is the size of the vector the head reads.
func reprSize(cfg vitnb.Config) int {
	if cfg.RepresentationSize > 0 {
		return cfg.RepresentationSize
	}
	return cfg.Width
}

// transpose2D returns the [cols, rows] transpose of a row-major [rows, cols] matrix.
func transpose2D(x []float32, rows, cols int) []float32 {
	out := make([]float32, len(x))
	transpose2DInto(out, x, rows, cols)
	return out
}

// transpose2DInto writes the [cols, rows] transpose of a row-major [rows, cols] matrix x into out.
func transpose2DInto(out, x []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			out[c*rows+r] = x[r*cols+c]
		}
	}
}

// transposeND permutes the axes of a row-major array of dims: output axis i is input axis perm[i].
func transposeND(x []float32, dims, perm []int) []float32 {
	out := make([]float32, len(x))
	transposeNDInto(out, x, dims, perm)
	return out
}

// transposeNDInto is transposeND writing into out.
func transposeNDInto(out, x []float32, dims, perm []int) {
	rank := len(dims)
	inStrides := make([]int, rank)
	stride := 1
	for i := rank - 1; i >= 0; i-- {
		inStrides[i] = stride
		stride *= dims[i]
	}
	outDims := make([]int, rank)
	for i, p := range perm {
		outDims[i] = dims[p]
	}
	idx := make([]int, rank)
	for o := range out {
		in := 0
		for i := range rank {
			in += idx[i] * inStrides[perm[i]]
		}
		out[o] = x[in]
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < outDims[i] {
				break
			}
			idx[i] = 0
		}
	}
}
