package backend

import (
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// AttentionEnvVar forces the attention formulation of vitnb's models: "fused" or "decomposed" ("auto" or unset:
// AttentionFor decides).
const AttentionEnvVar = "VITNB_ATTENTION"

// Attention is how a model computes softmax(q·kᵀ/√d)·v: with the backend's fused attention kernel, or
// decomposed into its two batched matrix products and a softmax.
type Attention string

const (
	// AttentionAuto lets AttentionFor choose by backend.
	AttentionAuto Attention = ""
	// AttentionFused uses the backend's fused scaled-dot-product attention where it has one.
	AttentionFused Attention = "fused"
	// AttentionDecomposed computes the two products and the softmax as separate operations.
	AttentionDecomposed Attention = "decomposed"
)

// ParseAttention reads a formulation name: "fused", "decomposed", or "auto" / "" for AttentionAuto.
func ParseAttention(s string) (Attention, error) {
	switch a := Attention(strings.ToLower(strings.TrimSpace(s))); a {
	case "auto", AttentionAuto:
		return AttentionAuto, nil
	case AttentionFused, AttentionDecomposed:
		return a, nil
	}
	return AttentionAuto, fmt.Errorf("%s=%q: want fused, decomposed or auto", AttentionEnvVar, s)
}

// AttentionFromEnv returns the formulation that $VITNB_ATTENTION forces (AttentionAuto when unset), or an error
// naming the variable when its value is not one of ParseAttention's.
func AttentionFromEnv() (Attention, error) {
	return ParseAttention(os.Getenv(AttentionEnvVar))
}

// AttentionFor returns the attention formulation to use on backend b, and why, given a forced one (AttentionAuto
// for none; a forced AttentionAuto then reads $VITNB_ATTENTION). The choice is by what runs fast, measured with
// `go test -bench InferModel ./vitnb` (docs/RESULTS.md, "Attention formulation"):
//
//   - a backend without a fused attention kernel (XLA CPU) runs the decomposed products whatever is asked;
//   - GoMLX's pure-Go backend runs them decomposed by default: its fused kernel (compute v0.1.14,
//     fusedops/avx512.sdpaFloat32AVX512General and its head-size variants) ran at 0.8 GFLOP/s on an Intel Xeon,
//     making inference 8x slower than training there, and is 2-10x slower than the decomposed products (which
//     go through its packed matrix-product kernel) on AMD Zen 4 as well;
//   - other backends with a fused kernel (XLA CUDA: cuDNN flash attention) use it.
func AttentionFor(b compute.Backend, forced Attention) (Attention, string, error) {
	if forced == AttentionAuto {
		var err error
		if forced, err = AttentionFromEnv(); err != nil {
			return AttentionAuto, "", err
		}
	} else if _, err := ParseAttention(string(forced)); err != nil {
		return AttentionAuto, "", fmt.Errorf("attention formulation %q: want fused, decomposed or auto", forced)
	}
	hasFused := b.Capabilities().Operations[compute.OpTypeFusedScaledDotProductAttention]
	switch {
	case !hasFused:
		return AttentionDecomposed, "the backend has no fused attention kernel", nil
	case forced != AttentionAuto:
		return forced, "forced (" + AttentionEnvVar + " or the model's options)", nil
	case b.String() == gobackend.BackendName:
		return AttentionDecomposed, "the pure-Go backend's fused kernel is slower than its matrix products; " +
			AttentionEnvVar + "=fused forces it", nil
	}
	return AttentionFused, "the backend's fused attention kernel; " + AttentionEnvVar + "=decomposed forces the products", nil
}
