package training

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb"
)

// TestEditedModelConfig checks that ReadModelConfig refuses a config.json whose fields differ from the model that
// run.json records, even where the shapes agree (issue 24, item 2), and accepts what may differ.
func TestEditedModelConfig(t *testing.T) {
	recorded := tinyModel()
	recorded.NumClasses = 0 // as a pretraining job records it: the classes come from the data set
	job := func(cmd string, m vitnb.Config, weights string) any {
		return Description{BatchSize: 2, Settings: Job{Command: cmd, Model: m, Weights: weights}}
	}
	edit := func(f func(*vitnb.Config)) vitnb.Config {
		c := tinyModel()
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name    string
		config  vitnb.Config
		run     any // nil: no run.json
		wantErr []string
	}{
		{"same", tinyModel(), job("pretrain", recorded, ""), nil},
		{"gelu edited", edit(func(c *vitnb.Config) { c.GELU = vitnb.GELUTanh }), job("pretrain", recorded, ""),
			[]string{"GELU", `"tanh"`, `"exact"`, RunFile}},
		{"epsilon edited", edit(func(c *vitnb.Config) { c.LayerNormEpsilon = 0.001 }), job("pretrain", recorded, ""),
			[]string{"LayerNormEpsilon", "0.001", "0.000001"}},
		{"pooling edited", edit(func(c *vitnb.Config) { c.Pooling = vitnb.PoolMean }), job("pretrain", recorded, ""),
			[]string{"Pooling"}},
		{"heads edited", edit(func(c *vitnb.Config) { c.Heads = 4 }), job("pretrain", recorded, ""),
			[]string{"Heads is 4 there, 2 in"}},
		{"depth: left to the checkpoint", edit(func(c *vitnb.Config) { c.Depth = 2 }), job("pretrain", recorded, ""), nil},
		{"dropout may change on resume", edit(func(c *vitnb.Config) { c.Dropout = 0.1 }), job("pretrain", recorded, ""), nil},
		{"older run without run.json", edit(func(c *vitnb.Config) { c.GELU = vitnb.GELUTanh }), nil, nil},
		{"settings not a job", edit(func(c *vitnb.Config) { c.GELU = vitnb.GELUTanh }),
			Description{Settings: map[string]any{"lr": 0.1}}, nil},
		{"fine-tuned from weights", edit(func(c *vitnb.Config) { c.GELU = vitnb.GELUTanh }),
			job("finetune", vitnb.Config{}, "w.safetensors"), nil},
		{"fine-tuned from a run, architecture kept", edit(func(c *vitnb.Config) { c.GELU = vitnb.GELUTanh }),
			job("finetune", vitnb.Config{}, ""), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteJSONAtomic(filepath.Join(dir, ModelConfigFile), tc.config); err != nil {
				t.Fatal(err)
			}
			if tc.run != nil {
				if err := WriteJSONAtomic(filepath.Join(dir, RunFile), tc.run); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadModelConfig(dir)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ReadModelConfig: %v", err)
				}
				if got != tc.config {
					t.Errorf("ReadModelConfig = %+v, want %+v", got, tc.config)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadModelConfig accepted an edited config.json: %+v", got)
			}
			for _, w := range append(tc.wantErr, filepath.Join(dir, ModelConfigFile)) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// A run.json that cannot be read as a job's settings is not this check's business, but one that is not JSON
	// at all is reported by ReadDescription; here it must not hide the config.json.
	dir := t.TempDir()
	if err := WriteJSONAtomic(filepath.Join(dir, ModelConfigFile), tinyModel()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, RunFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadModelConfig(dir); err != nil {
		t.Errorf("a run.json that is not JSON: %v", err)
	}
}
