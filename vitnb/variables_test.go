package vitnb

import (
	"strconv"
	"strings"
	"testing"
)

// TestWriteParamTable: the configuration, a header, one row per part of ParamTable whose counts add up to the
// total line, right-aligned.
func TestWriteParamTable(t *testing.T) {
	cfg, err := Preset("B/16")
	if err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	if err := cfg.WriteParamTable(&w); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	table := cfg.ParamTable()
	if len(lines) != len(table)+3 || lines[0] != cfg.String() || lines[len(lines)-1] != "total 86567656" {
		t.Fatalf("want the config, a header, %d rows and the total:\n%s", len(table), w.String())
	}
	sum := 0
	for i, g := range table {
		row := lines[i+2]
		fields := strings.Fields(row)
		n, err := strconv.Atoi(fields[len(fields)-1])
		if err != nil || n != g.Count || !strings.HasPrefix(strings.TrimLeft(row, " "), g.Part) || len(row) != len(lines[1]) {
			t.Errorf("row %q for %+v (header %q)", row, g, lines[1])
		}
		sum += n
	}
	if sum != cfg.NumParams() {
		t.Errorf("rows add up to %d, total %d", sum, cfg.NumParams())
	}
}

// TestCheckVariables: the variables of a checkpoint must be exactly the model's; each architecture field that
// differs is named with the model's value and the checkpoint's, and what no field explains is listed by variable.
// Variables of the optimizer, the step and the like are not the model's and are ignored.
func TestCheckVariables(t *testing.T) {
	base := Config{Name: "t", ImageSize: 16, Channels: 3, PatchSize: 4, Width: 16, Depth: 2, Heads: 2, MLPDim: 32,
		NumClasses: 5}.WithDefaults()
	found := base.VariableShapes()
	found["optimizer/adam/embedding/kernel/m"] = []int{7}
	found["global_step"] = nil
	if err := base.CheckVariables(found); err != nil {
		t.Fatalf("the model's own variables: %v", err)
	}
	change := func(f func(*Config)) Config {
		c := base
		f(&c)
		return c.WithDefaults()
	}
	cases := map[string]struct {
		model Config
		want  string
	}{
		"shallower":     {change(func(c *Config) { c.Depth = 1 }), "Depth (encoder blocks) 1 in the model, 2 in the checkpoint"},
		"deeper":        {change(func(c *Config) { c.Depth = 4 }), "Depth (encoder blocks) 4 in the model, 2 in the checkpoint"},
		"heads":         {change(func(c *Config) { c.Heads = 4 }), "Heads 4 in the model, 2 in the checkpoint"},
		"width":         {change(func(c *Config) { c.Width, c.MLPDim = 32, 32 }), "Width 32 in the model, 16 in the checkpoint"},
		"mlp":           {change(func(c *Config) { c.MLPDim = 64 }), "MLPDim 64 in the model, 32 in the checkpoint"},
		"classes":       {change(func(c *Config) { c.NumClasses = 10 }), "NumClasses (head) 10 in the model, 5 in the checkpoint"},
		"no head":       {change(func(c *Config) { c.NumClasses = 0 }), "NumClasses (head) 0 in the model, 5 in the checkpoint"},
		"image size":    {change(func(c *Config) { c.ImageSize = 32 }), "ImageSize 32 in the model, 16 in the checkpoint"},
		"pooling":       {change(func(c *Config) { c.Pooling = PoolMean }), "Pooling gap in the model, token in the checkpoint"},
		"pre-logits":    {change(func(c *Config) { c.RepresentationSize = 8 }), "RepresentationSize 8 in the model, 0 in the checkpoint"},
		"patch":         {change(func(c *Config) { c.PatchSize = 8 }), "PatchSize 8 in the model, 4 in the checkpoint"},
		"grey channels": {change(func(c *Config) { c.Channels = 1 }), "Channels 1 in the model, 3 in the checkpoint"},
	}
	for name, c := range cases {
		err := c.model.CheckVariables(found)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", name, err, c.want)
		}
	}
	// One variable missing, one extra: no field explains them, the variables are named.
	partial := base.VariableShapes()
	delete(partial, BlockScope(1)+"/"+BlockNorm2+"/bias")
	partial["Transformer/extra/kernel"] = []int{3}
	err := base.CheckVariables(partial)
	for _, want := range []string{"1 variable(s) missing from the checkpoint (" + BlockScope(1) + "/" + BlockNorm2 + "/bias [16])",
		"1 variable(s) in the checkpoint, unused by the model (Transformer/extra/kernel [3])"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a missing and an extra variable: got %v, want %q", err, want)
		}
	}
}
