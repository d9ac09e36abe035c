package viz

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

// NewAttention wraps a [heads, tokens, tokens] row-major slice of weights.
func NewAttention(w []float32, heads, tokens int) (Attention, error) {
	if len(w) != heads*tokens*tokens {
		return Attention{}, fmt.Errorf("viz: attention of %d values is not [%d, %d, %d]", len(w), heads, tokens, tokens)
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

// Rollout computes attention rollout (Abnar & Zuidema, "Quantifying Attention Flow in Transformers", 2020),
// which the paper uses for Fig. 6 (Appendix D.8): per block, the attention averaged over heads plus the
// identity for the residual connection, 0.5*A + 0.5*I, rows renormalised; the product over blocks from the
// first to the last, R = Â_L ··· Â_1. It returns R [tokens*tokens]: R[q*tokens+k] is how much output token q
// draws on input token k.
func Rollout(blocks []Attention) ([]float64, error) {
	if len(blocks) == 0 {
		return nil, fmt.Errorf("viz: rollout needs at least one block")
	}
	t := blocks[0].Tokens
	r := identity(t)
	for i, b := range blocks {
		if b.Tokens != t {
			return nil, fmt.Errorf("viz: block %d has %d tokens, block 0 has %d", i, b.Tokens, t)
		}
		a := b.MeanHeads()
		for q := 0; q < t; q++ {
			sum := 0.0
			for k := 0; k < t; k++ {
				v := 0.5 * a[q*t+k]
				if q == k {
					v += 0.5
				}
				a[q*t+k] = v
				sum += v
			}
			for k := 0; k < t; k++ {
				a[q*t+k] /= sum
			}
		}
		r = matMul(a, r, t) // the new block acts after the ones before it
	}
	return r, nil
}

func identity(n int) []float64 {
	m := make([]float64, n*n)
	for i := 0; i < n; i++ {
		m[i*n+i] = 1
	}
	return m
}

// matMul returns a·b for n x n row-major matrices.
func matMul(a, b []float64, n int) []float64 {
	out := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			aik := a[i*n+k]
			if aik == 0 {
				continue
			}
			for j := 0; j < n; j++ {
				out[i*n+j] += aik * b[k*n+j]
			}
		}
	}
	return out
}

// MeanDistance returns, for each head, the mean attention distance of the paper's Fig. 7 (right): the
// distance in pixels between the centres of a query patch and a key patch, weighted by the attention weight,
// summed over key patches and averaged over query patches. Tokens are prefix (class token) tokens followed by
// a grid x grid of patch x patch pixel patches; the prefix is left out, and each query's weights over the
// patches are renormalised to sum to 1, so the class token's share does not shrink the distance.
func (a Attention) MeanDistance(prefix, grid, patch int) ([]float64, error) {
	if a.Tokens != prefix+grid*grid {
		return nil, fmt.Errorf("viz: %d tokens are not %d prefix tokens and a %dx%d grid", a.Tokens, prefix, grid, grid)
	}
	n := grid * grid
	dist := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			dy, dx := float64(i/grid-j/grid), float64(i%grid-j%grid)
			dist[i*n+j] = float64(patch) * math.Hypot(dy, dx)
		}
	}
	out := make([]float64, a.Heads)
	for h, w := range a.Weights {
		total := 0.0
		for i := 0; i < n; i++ {
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
