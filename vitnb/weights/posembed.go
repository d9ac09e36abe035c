package weights

import (
	"fmt"
	"math"
)

// Interpolation selects how the position-embedding grid is resampled to another resolution.
type Interpolation string

const (
	// Bilinear is vit_jax's choice when fine-tuning at another resolution (checkpoint.py:
	// scipy.ndimage.zoom(grid, ..., order=1)): linear interpolation with the corner embeddings kept in place
	// (output i reads input i*(n0-1)/(n1-1)).
	Bilinear Interpolation = "bilinear"
	// Bicubic is timm's resample_abs_pos_embed default: torch.nn.functional.interpolate(mode="bicubic",
	// antialias=True, align_corners=False), i.e. PIL-style separable cubic filtering (a = -0.5) whose support
	// widens when shrinking.
	Bicubic Interpolation = "bicubic"
)

// ResamplePosEmbedding resizes position embeddings [1, prefix + g0*g0, width] (row-major grid after prefix
// tokens, e.g. 1 for the class token, which are kept as they are) to [1, prefix + g1*g1, width].
func ResamplePosEmbedding(pos []float32, width, prefix, g0, g1 int, interp Interpolation) ([]float32, error) {
	if len(pos) != (prefix+g0*g0)*width {
		return nil, fmt.Errorf("position embeddings: %d values, want (%d + %d²) x %d", len(pos), prefix, g0, width)
	}
	var axis func(in, out int) ([]int, [][]float64)
	switch interp {
	case Bilinear, "":
		axis = linearAlignCornersWeights
	case Bicubic:
		axis = cubicAntialiasWeights
	default:
		return nil, fmt.Errorf("unknown interpolation %q (want %q or %q)", interp, Bilinear, Bicubic)
	}
	starts, weights := axis(g0, g1)
	grid := pos[prefix*width:]
	// Rows first: [g0, g0, w] -> [g1, g0, w], then columns: -> [g1, g1, w], in float64.
	tmp := make([]float64, g1*g0*width)
	for i := 0; i < g1; i++ {
		for k, w := range weights[i] {
			src := grid[(starts[i]+k)*g0*width : (starts[i]+k+1)*g0*width]
			dst := tmp[i*g0*width : (i+1)*g0*width]
			for j, v := range src {
				dst[j] += w * float64(v)
			}
		}
	}
	out := make([]float32, (prefix+g1*g1)*width)
	copy(out, pos[:prefix*width])
	res := out[prefix*width:]
	acc := make([]float64, width)
	for r := 0; r < g1; r++ {
		for c := 0; c < g1; c++ {
			clear(acc)
			for k, w := range weights[c] {
				src := tmp[(r*g0+starts[c]+k)*width : (r*g0+starts[c]+k+1)*width]
				for j, v := range src {
					acc[j] += w * v
				}
			}
			for j, v := range acc {
				res[(r*g1+c)*width+j] = float32(v)
			}
		}
	}
	return out, nil
}

// linearAlignCornersWeights returns, for each output index, the first input index and the weights of
// scipy.ndimage.zoom(order=1) (grid_mode=False): output i samples input i*(in-1)/(out-1).
func linearAlignCornersWeights(in, out int) ([]int, [][]float64) {
	starts, weights := make([]int, out), make([][]float64, out)
	for i := 0; i < out; i++ {
		x := 0.0
		if out > 1 {
			x = float64(i) * float64(in-1) / float64(out-1)
		}
		lo := int(math.Floor(x))
		if lo >= in-1 {
			starts[i], weights[i] = in-1, []float64{1}
			continue
		}
		f := x - float64(lo)
		starts[i], weights[i] = lo, []float64{1 - f, f}
	}
	return starts, weights
}

// cubicAntialiasWeights returns the weights of PyTorch's antialiased bicubic interpolation
// (aten/src/ATen/native/cpu/UpSampleKernel.cpp, _compute_index_ranges_weights with align_corners=False): a
// cubic kernel with a = -0.5 stretched by the scale when shrinking, cut at the borders and normalised.
func cubicAntialiasWeights(in, out int) ([]int, [][]float64) {
	cubic := func(x float64) float64 {
		const a = -0.5
		x = math.Abs(x)
		switch {
		case x < 1:
			return ((a+2)*x-(a+3))*x*x + 1
		case x < 2:
			return ((a*x-5*a)*x+8*a)*x - 4*a
		}
		return 0
	}
	scale := float64(in) / float64(out)
	support, invScale := 2.0, 1.0
	if scale >= 1 {
		support, invScale = 2*scale, 1/scale
	}
	starts, weights := make([]int, out), make([][]float64, out)
	for i := 0; i < out; i++ {
		center := scale * (float64(i) + 0.5)
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		total := 0.0
		ws := make([]float64, 0, hi-lo)
		for j := lo; j < hi; j++ {
			w := cubic((float64(j) - center + 0.5) * invScale)
			ws = append(ws, w)
			total += w
		}
		if total != 0 {
			for k := range ws {
				ws[k] /= total
			}
		}
		starts[i], weights[i] = lo, ws
	}
	return starts, weights
}
