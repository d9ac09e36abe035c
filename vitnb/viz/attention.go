package viz

import "github.com/vitnb/vitnb/vitnb/explain"

// Attention is explain.Attention, the attention weights of one image in one block, which the heat maps here
// draw rows of (Attention.Row).
//
// Deprecated: use explain.Attention; the alias keeps notebooks written against viz working.
type Attention = explain.Attention

// Rollout is explain.Rollout (attention rollout, Abnar and Zuidema 2020).
//
// Deprecated: use explain.Rollout; the algorithms on attention live in package explain, viz only draws.
func Rollout(blocks []Attention) ([]float64, error) { return explain.Rollout(blocks) }
