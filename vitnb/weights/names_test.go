package weights

import (
	"testing"

	"github.com/vitnb/vitnb/vitnb"
)

// TestNameTable: the one name table covers every variable of the model, once, for configs with and without the
// optional parts, and each PyTorch key names one tensor (timm's stacked query, key and value aside).
func TestNameTable(t *testing.T) {
	base := vitnb.Config{Width: 12, Depth: 2, Heads: 3, MLPDim: 24, PatchSize: 4, ImageSize: 8, Channels: 3,
		NumClasses: 5, Pooling: vitnb.PoolToken}
	gap, repr, bare := base, base, base
	gap.Pooling = vitnb.PoolMean
	repr.RepresentationSize = 7
	bare.NumClasses = 0
	for _, cfg := range []vitnb.Config{base, gap, repr, bare} {
		shapes := cfg.VariableShapes()
		table := nameTable(cfg)
		seen := map[string]bool{}
		hf, timm := map[string]int{}, map[string]int{}
		for _, n := range table {
			if _, ok := shapes[n.vitnb]; !ok || seen[n.vitnb] {
				t.Errorf("%s: row %s not a variable, or twice", cfg.Pooling, n.vitnb)
			}
			seen[n.vitnb] = true
			if size(n.dims) != size(shapes[n.vitnb]) {
				t.Errorf("%s: %v holds %d values, the variable %v", n.vitnb, n.dims, size(n.dims), shapes[n.vitnb])
			}
			hf[n.hf]++
			timm[n.timm]++
		}
		if len(seen) != len(shapes) {
			t.Errorf("table has %d of %d variables", len(seen), len(shapes))
		}
		for k, c := range hf {
			if c != 1 {
				t.Errorf("hf key %s used %d times", k, c)
			}
		}
		for k, c := range timm {
			if c != 1 && c != 3 {
				t.Errorf("timm key %s used %d times", k, c)
			}
		}
	}
	if got := keyFor(FormatTimm, vitnb.BlockScope(0)+"/"+vitnb.BlockMLP+"/"+vitnb.MLPDense0+"/kernel"); got != "blocks.0.mlp.fc1.weight" {
		t.Errorf("keyFor: %q", got)
	}
}
