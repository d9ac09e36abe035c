package explain

import "fmt"

// GradientRelevance propagates gradient-weighted attention relevance through the blocks, the rule of Chefer,
// Gur and Wolf (ICCV 2021; their CVPR 2021 method with gradients in place of the LRP term): per block b,
//
//	Ā_b = mean over heads of (∂y/∂A_b ⊙ A_b)⁺,   R ← R + Ā_b·R,   from R = I, the first block to the last,
//
// where A_b is the block's attention (att[b]), ∂y/∂A_b the gradient of the explained class logit with respect
// to it (grad[b], same shape) and ⁺ keeps the positive part. The identity start and the additive update stand
// for the residual connections. It returns R [tokens*tokens]; PatchMap reads the picture from it (for a class
// token, its row over the patches).
func GradientRelevance(att, grad []Attention) ([]float64, error) {
	if len(att) == 0 || len(att) != len(grad) {
		return nil, fmt.Errorf("explain: relevance needs attention and gradients for the same blocks, got %d and %d", len(att), len(grad))
	}
	t := att[0].Tokens
	r := identity(t)
	for b := range att {
		a, g := att[b], grad[b]
		if a.Tokens != t || g.Tokens != t || a.Heads != g.Heads || len(a.Weights) != a.Heads || len(g.Weights) != g.Heads {
			return nil, fmt.Errorf("explain: block %d: attention [%d heads, %d tokens] and gradient [%d heads, %d tokens] do not match block 0's %d tokens",
				b, a.Heads, a.Tokens, g.Heads, g.Tokens, t)
		}
		bar := make([]float64, t*t)
		for h := range a.Heads {
			for i, v := range a.Weights[h] {
				if p := v * g.Weights[h][i]; p > 0 {
					bar[i] += p / float64(a.Heads)
				}
			}
		}
		update := matMul(bar, r, t)
		for i := range r {
			r[i] += update[i]
		}
	}
	return r, nil
}
