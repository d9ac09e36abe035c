package explain

import (
	"fmt"
	"math"
)

// Attention holds the attention weights of one image in one block: Weights[h][q*Tokens+k] is how much query
// token q of head h reads key token k (rows sum to 1).
type Attention struct {
	Heads, Tokens int
	Weights       [][]float64
}

// NewAttention wraps a [heads, tokens, tokens] row-major slice of weights (one image and block of
// vitnb.Inspector.Run's output).
func NewAttention(w []float32, heads, tokens int) (Attention, error) {
	if len(w) != heads*tokens*tokens {
		return Attention{}, fmt.Errorf("explain: attention of %d values is not [%d, %d, %d]", len(w), heads, tokens, tokens)
	}
	a := Attention{Heads: heads, Tokens: tokens, Weights: make([][]float64, heads)}
	for h := range a.Weights {
		a.Weights[h] = make([]float64, tokens*tokens)
		for i := range a.Weights[h] {
			a.Weights[h][i] = float64(w[h*tokens*tokens+i])
		}
	}
	return a, nil
}

// MeanHeads returns the attention averaged over heads, [tokens*tokens].
func (a Attention) MeanHeads() []float64 {
	out := make([]float64, a.Tokens*a.Tokens)
	for _, w := range a.Weights {
		for i, v := range w {
			out[i] += v / float64(a.Heads)
		}
	}
	return out
}

// Row returns the weights with which query token q of head h reads the keys from index first on: with
// first=1 and q=0 it is the class token's attention to the patches, a map of the image.
func (a Attention) Row(h, q, first int) []float64 {
	return append([]float64(nil), a.Weights[h][q*a.Tokens+first:(q+1)*a.Tokens]...)
}

// PatchMap reads a map over the patches from a [tokens*tokens] matrix m whose first prefix tokens are not
// patches (the class token): with a class token (prefix > 0) it is row 0 over the patch columns, what the class
// token draws from each patch; without one (mean pooling, prefix 0) it is the mean of the rows, what the pooled
// tokens draw from each patch on average.
func PatchMap(m []float64, tokens, prefix int) ([]float64, error) {
	if len(m) != tokens*tokens || prefix < 0 || prefix >= tokens {
		return nil, fmt.Errorf("explain: a matrix of %d values is not [%d, %d] with %d prefix tokens", len(m), tokens, tokens, prefix)
	}
	if prefix > 0 {
		return append([]float64(nil), m[prefix:tokens]...), nil
	}
	out := make([]float64, tokens)
	for q := range tokens {
		for k := range tokens {
			out[k] += m[q*tokens+k] / float64(tokens)
		}
	}
	return out, nil
}

// RawAttention returns the map of raw attention: the last block's attention averaged over heads, read by
// PatchMap (the class token's row over the patches).
func RawAttention(blocks []Attention, prefix int) ([]float64, error) {
	if len(blocks) == 0 {
		return nil, fmt.Errorf("explain: raw attention needs at least one block")
	}
	last := blocks[len(blocks)-1]
	return PatchMap(last.MeanHeads(), last.Tokens, prefix)
}

// Rollout computes attention rollout (Abnar and Zuidema, ACL 2020), which the paper uses for Fig. 6 (Appendix
// D.8): per block, the attention averaged over heads plus the identity for the residual connection,
// 0.5*A + 0.5*I, rows renormalised; the product over blocks from the first to the last, R = Â_L ··· Â_1. It
// returns R [tokens*tokens]: R[q*tokens+k] is how much output token q draws on input token k. PatchMap reads
// the picture from it.
func Rollout(blocks []Attention) ([]float64, error) {
	if len(blocks) == 0 {
		return nil, fmt.Errorf("explain: rollout needs at least one block")
	}
	t := blocks[0].Tokens
	r := identity(t)
	for i, b := range blocks {
		if b.Tokens != t {
			return nil, fmt.Errorf("explain: block %d has %d tokens, block 0 has %d", i, b.Tokens, t)
		}
		a := b.MeanHeads()
		for q := range t {
			sum := 0.0
			for k := range t {
				v := 0.5 * a[q*t+k]
				if q == k {
					v += 0.5
				}
				a[q*t+k] = v
				sum += v
			}
			for k := range t {
				a[q*t+k] /= sum
			}
		}
		r = matMul(a, r, t) // the new block acts after the ones before it
	}
	return r, nil
}

func identity(n int) []float64 {
	m := make([]float64, n*n)
	for i := range n {
		m[i*n+i] = 1
	}
	return m
}

// matMul returns a·b for n x n row-major matrices.
func matMul(a, b []float64, n int) []float64 {
	out := make([]float64, n*n)
	for i := range n {
		for k := range n {
			aik := a[i*n+k]
			if aik == 0 {
				continue
			}
			for j := range n {
				out[i*n+j] += aik * b[k*n+j]
			}
		}
	}
	return out
}

// patchDistances returns the distance in pixels between the centres of patches i and j of a grid x grid
// layout of patch x patch pixel patches, [i*grid*grid+j].
func patchDistances(grid, patch int) []float64 {
	n := grid * grid
	dist := make([]float64, n*n)
	for i := range n {
		for j := range n {
			dy, dx := float64(i/grid-j/grid), float64(i%grid-j%grid)
			dist[i*n+j] = float64(patch) * math.Hypot(dy, dx)
		}
	}
	return dist
}

// MeanDistance returns, for each head, the mean attention distance of the paper's Fig. 7 (right): the
// distance in pixels between the centres of a query patch and a key patch, weighted by the attention weight,
// summed over key patches and averaged over query patches. Tokens are prefix (class token) tokens followed by
// a grid x grid of patch x patch pixel patches; the prefix is left out, and each query's weights over the
// patches are renormalised to sum to 1, so the class token's share does not shrink the distance.
func (a Attention) MeanDistance(prefix, grid, patch int) ([]float64, error) {
	if a.Tokens != prefix+grid*grid {
		return nil, fmt.Errorf("explain: %d tokens are not %d prefix tokens and a %dx%d grid", a.Tokens, prefix, grid, grid)
	}
	n := grid * grid
	dist := patchDistances(grid, patch)
	out := make([]float64, a.Heads)
	for h, w := range a.Weights {
		total := 0.0
		for i := range n {
			row := w[(prefix+i)*a.Tokens+prefix : (prefix+i+1)*a.Tokens]
			sum, d := 0.0, 0.0
			for j, v := range row {
				sum += v
				d += v * dist[i*n+j]
			}
			if sum > 0 {
				total += d / sum
			}
		}
		out[h] = total / float64(n)
	}
	return out, nil
}

// MeanDistances returns the mean attention distance [block][head] averaged over images, from attention
// [image][block] (as Explanation.Attention holds it).
func MeanDistances(att [][]Attention, prefix, grid, patch int) ([][]float64, error) {
	if len(att) == 0 {
		return nil, fmt.Errorf("explain: mean attention distance needs at least one image")
	}
	out := make([][]float64, len(att[0]))
	for i, blocks := range att {
		if len(blocks) != len(out) {
			return nil, fmt.Errorf("explain: image %d has %d blocks of attention, image 0 has %d", i, len(blocks), len(out))
		}
		for b, a := range blocks {
			d, err := a.MeanDistance(prefix, grid, patch)
			if err != nil {
				return nil, fmt.Errorf("image %d, block %d: %w", i, b, err)
			}
			if out[b] == nil {
				out[b] = make([]float64, len(d))
			}
			if len(d) != len(out[b]) {
				return nil, fmt.Errorf("explain: image %d, block %d has %d heads, image 0 has %d", i, b, len(d), len(out[b]))
			}
			for h, v := range d {
				out[b][h] += v / float64(len(att))
			}
		}
	}
	return out, nil
}

// UniformDistance is the mean attention distance of uniform attention over a grid x grid of patch-pixel
// patches: the baseline against which a head is local (below) or global (near or above).
func UniformDistance(grid, patch int) float64 {
	dist := patchDistances(grid, patch)
	sum := 0.0
	for _, d := range dist {
		sum += d
	}
	return sum / float64(len(dist))
}

// MaxDistance is the largest distance between two patch centres of a grid x grid of patch-pixel patches
// (corner to corner), the top of a mean-attention-distance axis.
func MaxDistance(grid, patch int) float64 {
	return float64(patch) * math.Sqrt2 * float64(grid-1)
}
