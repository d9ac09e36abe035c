package weights

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb"
)

// TestConvert converts the Hugging Face fixture to timm's naming with a config.json beside it: the summary
// names the file and HF's LayerNorm epsilon, and the file reads back as timm with its heads.
func TestConvert(t *testing.T) {
	dir := t.TempDir()
	out, config := filepath.Join(dir, "model.safetensors"), filepath.Join(dir, "config.json")
	summary, err := Convert("testdata/hf/model.safetensors", out, config, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(summary, "wrote "+out+": ") || !strings.Contains(summary, "epsilon 1e-12") {
		t.Errorf("summary %q", summary)
	}
	store, info, err := Load(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	store.Finalize()
	if info.Format != FormatTimm || info.Config.Heads != 3 {
		t.Errorf("converted file read as %s %s", info.Format, info.Config)
	}
	var doc struct {
		Architecture string `json:"architecture"`
	}
	if data, err := os.ReadFile(config); err != nil || json.Unmarshal(data, &doc) != nil || doc.Architecture == "" {
		t.Errorf("config.json: %v %+v", err, doc)
	}
	if _, err := Convert("testdata/timm.safetensors", filepath.Join(dir, "x.safetensors"), "", Options{}); err == nil ||
		!strings.Contains(err.Error(), "heads") {
		t.Errorf("timm file without heads: %v", err)
	}
}

// TestWriteCatalog: one entry (name, format, URL) per checkpoint, the downloaded ones marked with their path,
// the cache folder last.
func TestWriteCatalog(t *testing.T) {
	cache := t.TempDir()
	list := Catalog()
	have := list[0].WeightsFile(cache)
	if err := os.MkdirAll(filepath.Dir(have), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(have, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	if err := WriteCatalog(&w, cache, false); err != nil {
		t.Fatal(err)
	}
	s := w.String()
	for _, k := range list {
		if !strings.Contains(s, k.Name) || !strings.Contains(s, "\n    "+k.Files[0].URL+"\n") {
			t.Errorf("%s or its URL missing:\n%s", k.Name, s)
		}
	}
	if strings.Count(s, "[downloaded: ") != 1 || !strings.Contains(s, "[downloaded: "+have+"]") {
		t.Errorf("want only %s marked as downloaded:\n%s", have, s)
	}
	if !strings.HasSuffix(s, "\ncache: "+cache+"\n") {
		t.Errorf("last line: %q", s[strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n"):])
	}
}

// TestInspect reads a file with every check of Load: what Describe prints, and the errors.
func TestInspect(t *testing.T) {
	info, err := Inspect("testdata/timm.safetensors", Options{Heads: 3})
	if err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	info.Describe(&w)
	if info.Format != FormatTimm || info.Config.Heads != 3 || !strings.Contains(w.String(), "file: testdata/timm.safetensors\nformat: timm\n") {
		t.Errorf("%s %s:\n%s", info.Format, info.Config, w.String())
	}
	if _, err := Inspect("testdata/timm.safetensors", Options{Heads: 3, Preset: "B/16"}); err == nil ||
		!strings.Contains(err.Error(), "mis-shaped") {
		t.Errorf("checked against B/16: %v", err)
	}
}

// Options.Validate refuses values no checkpoint can be loaded with, before reading the file.
func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{Interpolation: "nearest"}, {GELU: "relu"}, {Heads: -1}, {LayerNormEpsilon: math.NaN()}} {
		if _, _, err := Load("no-such-file.npz", o); err == nil || strings.Contains(err.Error(), "no-such-file") {
			t.Errorf("%+v: %v, want an error about the option", o, err)
		}
	}
	if err := (Options{Interpolation: Bicubic, GELU: vitnb.GELUTanh, Heads: 12}).Validate(); err != nil {
		t.Error(err)
	}
}
