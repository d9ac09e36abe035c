package weights

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeJSONFile writes v as JSON at path.
func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// timmWithConfig writes a timm file that says its heads in its metadata (SaveTimm) and its config.json
// (WriteTimmConfig, with labels) into a new folder, and returns their paths and the config's bytes.
func timmWithConfig(t *testing.T, labels []string) (path, configPath string, config []byte) {
	t.Helper()
	store, info, err := Load("testdata/timm.safetensors", Options{Heads: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, configPath = filepath.Join(dir, "model.safetensors"), filepath.Join(dir, "config.json")
	if err := SaveTimm(path, store, "/", info.Config); err != nil {
		t.Fatal(err)
	}
	if err := WriteTimmConfig(configPath, info.Config, info.Preprocessing, labels); err != nil {
		t.Fatal(err)
	}
	if config, err = os.ReadFile(configPath); err != nil {
		t.Fatal(err)
	}
	return path, configPath, config
}

// TestSidecarMustDescribeTheWeights: a config.json beside the weights that contradicts them (heads against the
// file's own metadata, depth, width, classes, resolution, pooling, number of class names) is an error naming
// both values, and so is a config.json or preprocessor_config.json that is a folder; one that agrees loads.
func TestSidecarMustDescribeTheWeights(t *testing.T) {
	path, configPath, good := timmWithConfig(t, []string{"a", "b", "c", "d", "e"})
	_, loaded, err := Load(path, Options{})
	if err != nil || strings.Join(loaded.Labels, ",") != "a,b,c,d,e" || loaded.Config.Heads != 3 {
		t.Fatalf("the file with its own config.json: %v, %+v", err, loaded)
	}
	edit := func(change func(m map[string]any)) {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		writeJSONFile(t, configPath, m)
	}
	args := func(m map[string]any) map[string]any { return m["model_args"].(map[string]any) }
	cases := map[string]struct {
		change func(m map[string]any)
		want   string
	}{
		"heads against the metadata": {func(m map[string]any) { args(m)["num_heads"] = 4 }, "the number of attention heads: 4 in " + configPath + " (model_args), 3 in the file's metadata"},
		"global_pool avg":            {func(m map[string]any) { m["global_pool"] = "avg" }, `global_pool "avg", but the weights (with a class token) pool with "token"`},
		"model_args global_pool avg": {func(m map[string]any) { args(m)["global_pool"] = "avg" }, `model_args global_pool "avg"`},
		"depth":                      {func(m map[string]any) { args(m)["depth"] = 3 }, "model_args depth 3, the weights 2"},
		"width":                      {func(m map[string]any) { args(m)["embed_dim"] = 48; m["num_features"] = 48 }, "model_args embed_dim 48, the weights 24"},
		"mlp ratio":                  {func(m map[string]any) { args(m)["mlp_ratio"] = 4 }, "model_args mlp_ratio 4, the weights 2"},
		"class token":                {func(m map[string]any) { args(m)["class_token"] = false }, "model_args class_token false, the weights true"},
		"classes":                    {func(m map[string]any) { m["num_classes"] = 10 }, "num_classes 10, the weights 5"},
		"resolution":                 {func(m map[string]any) { m["pretrained_cfg"].(map[string]any)["input_size"] = []int{3, 32, 32} }, "input_size [3 32 32], the weights [3 16 16]"},
		"3 class names":              {func(m map[string]any) { m["label_names"] = []string{"a", "b", "c"} }, "label_names: classes 3, the weights 5"},
		"12 class names":             {func(m map[string]any) { m["label_names"] = make([]string, 12) }, "label_names: classes 12, the weights 5"},
		"a blank class name":         {func(m map[string]any) { m["label_names"] = []string{"a", "b", " ", "d", "e"} }, `label_names: class 2 has a blank name " "`},
		"a class name twice":         {func(m map[string]any) { m["label_names"] = []string{"a", "b", "c", "a", "e"} }, `label_names: classes 0 and 3 have the same name "a"`},
		"an empty img_size list":     {func(m map[string]any) { args(m)["img_size"] = []int{} }, "model_args img_size -1, the weights 16"},
		// timm options that change what the model computes, which vitnb does not implement and the weights do not
		// show in their names: each was loaded as a plain ViT without a word.
		"relu":            {func(m map[string]any) { args(m)["act_layer"] = "relu" }, `model_args act_layer "relu"`},
		"no qkv bias":     {func(m map[string]any) { args(m)["qkv_bias"] = false }, "model_args qkv_bias false"},
		"register tokens": {func(m map[string]any) { args(m)["reg_tokens"] = 4 }, "model_args reg_tokens 4"},
		"no_embed_class":  {func(m map[string]any) { args(m)["no_embed_class"] = true }, "model_args no_embed_class true"},
		"pre_norm":        {func(m map[string]any) { args(m)["pre_norm"] = true }, "model_args pre_norm true"},
		"layer scale":     {func(m map[string]any) { args(m)["init_values"] = 1e-5 }, "model_args init_values 0.00001"},
		"qk_norm":         {func(m map[string]any) { args(m)["qk_norm"] = true }, "model_args qk_norm true"},
		"rms norm":        {func(m map[string]any) { args(m)["norm_layer"] = "rmsnorm" }, `model_args norm_layer "rmsnorm"`},
	}
	for name, c := range cases {
		edit(c.change)
		_, _, err := Load(path, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", name, err, c.want)
		}
	}
	// A heads option against the file's metadata is refused too; the same number is fine.
	if err := os.WriteFile(configPath, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(path, Options{Heads: 6}); err == nil || !strings.Contains(err.Error(), "6 in the heads option, 3 in") {
		t.Errorf("-heads 6 against the metadata's 3: %v", err)
	}
	if _, _, err := Load(path, Options{Heads: 3}); err != nil {
		t.Errorf("-heads 3 as the metadata: %v", err)
	}

	// Hugging Face: config.json against the file's shapes; real class names must be one per class.
	hfDir := t.TempDir()
	copyFile(t, "testdata/hf/model.safetensors", filepath.Join(hfDir, "model.safetensors"))
	hfGood, err := os.ReadFile("testdata/hf/config.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		key  string
		val  any
		want string
	}{
		"layers":      {"num_hidden_layers", 3, "num_hidden_layers 3, the weights 2"},
		"hidden size": {"hidden_size", 48, "hidden_size 48, the weights 24"},
		"image size":  {"image_size", 32, "image_size 32, the weights 16"},
		"labels":      {"id2label", map[string]string{"0": "cat", "1": "dog", "2": "cow"}, "id2label: classes 3, the weights 5"},
		"blank label": {"id2label", map[string]string{"0": "cat", "1": "dog", "2": "", "3": "ox", "4": "yak"}, `id2label: class 2 has a blank name ""`},
	} {
		var m map[string]any
		if err := json.Unmarshal(hfGood, &m); err != nil {
			t.Fatal(err)
		}
		m[c.key] = c.val
		writeJSONFile(t, filepath.Join(hfDir, "config.json"), m)
		_, _, err := Load(filepath.Join(hfDir, "model.safetensors"), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}

	// A folder where config.json or preprocessor_config.json should be.
	for _, name := range []string{"config.json", "preprocessor_config.json"} {
		d := t.TempDir()
		copyFile(t, path, filepath.Join(d, "model.safetensors"))
		if err := os.Mkdir(filepath.Join(d, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Load(filepath.Join(d, "model.safetensors"), Options{}); err == nil || !strings.Contains(err.Error(), name+" is a folder") {
			t.Errorf("%s as a folder: %v", name, err)
		}
	}
}

// TestSidecarMeanStd: a mean or std in config.json (timm's pretrained_cfg) or preprocessor_config.json (Hugging
// Face's image_mean, image_std) that does not have one value per channel is an error naming it, unless its values
// are all equal (a grey model's [0.5, 0.5, 0.5]): it was dropped without a word, and the default 0.5 used instead.
func TestSidecarMeanStd(t *testing.T) {
	path, configPath, good := timmWithConfig(t, nil)
	for name, c := range map[string]struct {
		mean, std []float64
		want      string // "" for no error, with wantMean
		wantMean  float32
	}{
		"two means for three channels": {mean: []float64{0.4, 0.5}, std: []float64{0.2, 0.2, 0.2}, want: "pretrained_cfg mean [0.4 0.5]: 2 values for 3 channels"},
		"one std of two":               {mean: []float64{0.4, 0.5, 0.6}, std: []float64{0.2, 0.3}, want: "pretrained_cfg std [0.2 0.3]: 2 values for 3 channels"},
		"one value for all":            {mean: []float64{0.25}, std: []float64{0.5}, wantMean: 0.25},
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		pc := m["pretrained_cfg"].(map[string]any)
		pc["mean"], pc["std"] = c.mean, c.std
		writeJSONFile(t, configPath, m)
		_, loaded, err := Load(path, Options{})
		switch {
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), configPath)):
			t.Errorf("%s: got %v, want an error naming %s and containing %q", name, err, configPath, c.want)
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.want == "" && loaded.Preprocessing.Mean[2] != c.wantMean:
			t.Errorf("%s: mean %v, want %v for each channel", name, loaded.Preprocessing.Mean, c.wantMean)
		}
	}

	// Hugging Face's preprocessor_config.json.
	hfDir := t.TempDir()
	copyFile(t, "testdata/hf/model.safetensors", filepath.Join(hfDir, "model.safetensors"))
	copyFile(t, "testdata/hf/config.json", filepath.Join(hfDir, "config.json"))
	ppPath := filepath.Join(hfDir, "preprocessor_config.json")
	writeJSONFile(t, ppPath, map[string]any{"image_mean": []float64{0.485, 0.456}, "image_std": []float64{0.229, 0.224, 0.225}})
	if _, _, err := Load(filepath.Join(hfDir, "model.safetensors"), Options{}); err == nil ||
		!strings.Contains(err.Error(), ppPath) || !strings.Contains(err.Error(), "image_mean [0.485 0.456]: 2 values for 3 channels") {
		t.Errorf("preprocessor_config.json with 2 means: got %v", err)
	}
}
