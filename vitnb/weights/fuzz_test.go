package weights

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load as a weights file: it must return an error or a store, never panic.
// Seeds are the starts of the fixtures (small seeds keep the fuzzer fast); the whole
// fixtures are loaded by the other tests.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/timm.safetensors", "testdata/google.npz"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:200])
		f.Add(data[:2000])
	}
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{}              "))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.bin")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		store, _, err := Load(path, Options{Heads: 3})
		if err == nil {
			store.Finalize()
		}
	})
}

// FuzzSidecar feeds arbitrary bytes to the sidecar readers as the config.json and preprocessor_config.json beside a
// timm weights file: Load must return an error or a store, never panic nor read past files.MaxSidecarSize.
func FuzzSidecar(f *testing.F) {
	weights, err := os.ReadFile("testdata/timm.safetensors")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"architecture": "vit_tiny_patch16_224", "num_heads": 3, "num_classes": 10, "pretrained_cfg": {"input_size": [3, 16, 16], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "crop_pct": 0.9, "interpolation": "bicubic"}}`),
		[]byte(`{"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "size": {"height": 16, "width": 16}, "resample": 2}`))
	f.Add([]byte(`{"num_attention_heads": 3, "id2label": {"0": "cat", "1": "dog"}, "label2id": {"cat": 0}}`), []byte(`{"size": [16, 16]}`))
	f.Add([]byte(`{"num_heads": -1, "global_pool": "avg", "label_names": ["a"]}`), []byte(`null`))
	dir := f.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(path, weights, 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, config, preprocessor []byte) {
		for name, data := range map[string][]byte{"config.json": config, "preprocessor_config.json": preprocessor} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		store, _, err := Load(path, Options{})
		if err == nil {
			store.Finalize()
		}
	})
}
