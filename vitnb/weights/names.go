package weights

import (
	"fmt"
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
	FormatHF:     "embeddings.patch_embeddings.projection.weight",
	FormatTimm:   "patch_embed.proj.weight",
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
// cfg.VariableShapes() is read; plus the keys the format may hold that the model does not use (HF's pooler
// when a classifier is present).
func rules(f Format, cfg vitnb.Config) (rs []rule, optional []string) {
	shapes := cfg.VariableShapes()
	d, m, p, c := cfg.Width, cfg.MLPDim, cfg.PatchSize, cfg.Channels
	add := func(target string, srcs []string, srcShapes [][]int, conv func([][]float32, []float32)) {
		if _, ok := shapes[target]; ok {
			rs = append(rs, rule{target, srcs, srcShapes, conv})
		}
	}
	same := func(target, src string) { add(target, []string{src}, [][]int{shapes[target]}, nil) }
	// linear copies a torch Linear weight [out, in] as a kernel [in, out] (then reshaped by the caller's dims).
	linear := func(target, src string, out, in int) {
		add(target, []string{src}, [][]int{{out, in}}, func(s [][]float32, dst []float32) { transpose2DInto(dst, s[0], out, in) })
	}
	patchOIHW := func(target, src string) {
		add(target, []string{src}, [][]int{{d, c, p, p}}, func(s [][]float32, dst []float32) {
			transposeNDInto(dst, s[0], []int{d, c, p, p}, []int{2, 3, 1, 0})
		})
	}
	vec := func(target, src string, n int) { add(target, []string{src}, [][]int{{n}}, nil) }

	switch f {
	case FormatGoogle:
		for name := range shapes {
			same(name, name)
		}
	case FormatHF:
		patchOIHW(vitnb.VarPatchKernel, "embeddings.patch_embeddings.projection.weight")
		vec(vitnb.VarPatchBias, "embeddings.patch_embeddings.projection.bias", d)
		same(vitnb.VarClassToken, "embeddings.cls_token")
		same(vitnb.VarPosEmbedding, "embeddings.position_embeddings")
		for i := 0; i < cfg.Depth; i++ {
			b, s := vitnb.BlockScope(i)+"/", fmt.Sprintf("encoder.layer.%d.", i)
			for _, ln := range [][2]string{{"LayerNorm_0", "layernorm_before"}, {"LayerNorm_2", "layernorm_after"}} {
				vec(b+ln[0]+"/scale", s+ln[1]+".weight", d)
				vec(b+ln[0]+"/bias", s+ln[1]+".bias", d)
			}
			a := b + "MultiHeadDotProductAttention_1/"
			for _, n := range []string{"query", "key", "value"} {
				linear(a+n+"/kernel", s+"attention.attention."+n+".weight", d, d)
				vec(a+n+"/bias", s+"attention.attention."+n+".bias", d)
			}
			linear(a+"out/kernel", s+"attention.output.dense.weight", d, d)
			vec(a+"out/bias", s+"attention.output.dense.bias", d)
			linear(b+"MlpBlock_3/Dense_0/kernel", s+"intermediate.dense.weight", m, d)
			vec(b+"MlpBlock_3/Dense_0/bias", s+"intermediate.dense.bias", m)
			linear(b+"MlpBlock_3/Dense_1/kernel", s+"output.dense.weight", d, m)
			vec(b+"MlpBlock_3/Dense_1/bias", s+"output.dense.bias", d)
		}
		vec(vitnb.VarEncoderNorm+"/scale", "layernorm.weight", d)
		vec(vitnb.VarEncoderNorm+"/bias", "layernorm.bias", d)
		if cfg.RepresentationSize > 0 {
			linear(vitnb.VarPreLogits+"/kernel", "pooler.dense.weight", cfg.RepresentationSize, d)
			vec(vitnb.VarPreLogits+"/bias", "pooler.dense.bias", cfg.RepresentationSize)
		} else {
			// ViTForImageClassification classifies the normed class token and has no pooler; a ViTModel saved with
			// its pooler next to a classifier keeps a pooler that classification never uses.
			optional = append(optional, "pooler.dense.weight", "pooler.dense.bias")
		}
		linear(vitnb.VarHead+"/kernel", "classifier.weight", cfg.NumClasses, reprSize(cfg))
		vec(vitnb.VarHead+"/bias", "classifier.bias", cfg.NumClasses)
	case FormatTimm:
		patchOIHW(vitnb.VarPatchKernel, "patch_embed.proj.weight")
		vec(vitnb.VarPatchBias, "patch_embed.proj.bias", d)
		same(vitnb.VarClassToken, "cls_token")
		same(vitnb.VarPosEmbedding, "pos_embed")
		for i := 0; i < cfg.Depth; i++ {
			b, s := vitnb.BlockScope(i)+"/", fmt.Sprintf("blocks.%d.", i)
			for _, ln := range [][2]string{{"LayerNorm_0", "norm1"}, {"LayerNorm_2", "norm2"}} {
				vec(b+ln[0]+"/scale", s+ln[1]+".weight", d)
				vec(b+ln[0]+"/bias", s+ln[1]+".bias", d)
			}
			a := b + "MultiHeadDotProductAttention_1/"
			for j, n := range []string{"query", "key", "value"} {
				add(a+n+"/kernel", []string{s + "attn.qkv.weight"}, [][]int{{3 * d, d}}, func(src [][]float32, dst []float32) {
					transpose2DInto(dst, src[0][j*d*d:(j+1)*d*d], d, d)
				})
				add(a+n+"/bias", []string{s + "attn.qkv.bias"}, [][]int{{3 * d}}, func(src [][]float32, dst []float32) {
					copy(dst, src[0][j*d:(j+1)*d])
				})
			}
			linear(a+"out/kernel", s+"attn.proj.weight", d, d)
			vec(a+"out/bias", s+"attn.proj.bias", d)
			linear(b+"MlpBlock_3/Dense_0/kernel", s+"mlp.fc1.weight", m, d)
			vec(b+"MlpBlock_3/Dense_0/bias", s+"mlp.fc1.bias", m)
			linear(b+"MlpBlock_3/Dense_1/kernel", s+"mlp.fc2.weight", d, m)
			vec(b+"MlpBlock_3/Dense_1/bias", s+"mlp.fc2.bias", d)
		}
		vec(vitnb.VarEncoderNorm+"/scale", "norm.weight", d)
		vec(vitnb.VarEncoderNorm+"/bias", "norm.bias", d)
		if cfg.RepresentationSize > 0 {
			linear(vitnb.VarPreLogits+"/kernel", "pre_logits.fc.weight", cfg.RepresentationSize, d)
			vec(vitnb.VarPreLogits+"/bias", "pre_logits.fc.bias", cfg.RepresentationSize)
		}
		linear(vitnb.VarHead+"/kernel", "head.weight", cfg.NumClasses, reprSize(cfg))
		vec(vitnb.VarHead+"/bias", "head.bias", cfg.NumClasses)
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
