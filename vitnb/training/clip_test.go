package training

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
	"github.com/gomlx/gomlx/core/tensors"
)

// TestClipByGlobalNorm checks the clipping against its definition: two gradients [3 4] and [12] have global norm
// 13, so a limit of 1 scales both by 1/13, a limit above 13 leaves them alone, and zero gradients stay zero.
func TestClipByGlobalNorm(t *testing.T) {
	b := testBackend(t)
	for _, c := range []struct {
		a, b    []float32
		maxNorm float64
		scale   float64
	}{
		{[]float32{3, 4}, []float32{12}, 1, 1.0 / 13},
		{[]float32{3, 4}, []float32{12}, 6.5, 0.5},
		{[]float32{3, 4}, []float32{12}, 100, 1},
		{[]float32{0, 0}, []float32{0}, 1, 1},
	} {
		out := MustExecOnceN(b, func(x, y *Node) []*Node { return ClipByGlobalNorm([]*Node{x, y}, c.maxNorm) }, c.a, c.b)
		got := append(tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])...)
		for i, g := range append(append([]float32{}, c.a...), c.b...) {
			if want := float64(g) * c.scale; math.Abs(float64(got[i])-want) > 1e-6*(1+math.Abs(want)) {
				t.Errorf("ClipByGlobalNorm(%v %v, %g): element %d is %g, want %g", c.a, c.b, c.maxNorm, i, got[i], want)
			}
		}
	}
}
