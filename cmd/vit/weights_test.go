package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixtures = "../../vitnb/weights/testdata/"

func TestWeightsList(t *testing.T) {
	code, out, errOut := runVit(t, "weights", "list", "-cache", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"ViT-B_16-i21k", "https://storage.googleapis.com/vit_models/imagenet21k/ViT-B_16.npz",
		"hf/vit-base-patch16-224", "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k"} {
		if !strings.Contains(out, want) {
			t.Errorf("list misses %q", want)
		}
	}
	if code, _, errOut := runVit(t, "weights"); code != 2 || !strings.Contains(errOut, "subcommand") {
		t.Errorf("vit weights: exit %d %q", code, errOut)
	}
	if code, _, errOut := runVit(t, "weights", "get", "-cache", t.TempDir(), "ViT-Q_1"); code != 2 || !strings.Contains(errOut, "unknown checkpoint") {
		t.Errorf("unknown name: exit %d %q", code, errOut)
	}
}

// TestWeightsGetThenPredict downloads a (small, fixture) timm checkpoint from a local mirror, then predicts
// with it; a second get finds it in the cache; offline, get says where to put the file.
func TestWeightsGetThenPredict(t *testing.T) {
	model, err := os.ReadFile(fixtures + "timm.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	const name = "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k"
	mux := http.NewServeMux()
	requests := 0
	mux.HandleFunc("/"+name+"/resolve/main/model.safetensors", func(w http.ResponseWriter, r *http.Request) {
		requests++
		_, _ = w.Write(model)
	})
	mux.HandleFunc("/"+name+"/resolve/main/config.json", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"architecture": "vit_tiny_patch16_224", "model_args": {"num_heads": 3},
			"pretrained_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "interpolation": "bicubic", "crop_pct": 0.9}}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cache := t.TempDir()
	code, out, errOut := runVit(t, "weights", "get", "-cache", cache, "-mirror", srv.URL, name)
	if code != 0 {
		t.Fatalf("get: exit %d: %s", code, errOut)
	}
	path := strings.TrimSpace(out)
	if data, err := os.ReadFile(path); err != nil || len(data) != len(model) {
		t.Fatalf("downloaded file %s: %v", path, err)
	}
	if code, _, _ := runVit(t, "weights", "get", "-cache", cache, "-mirror", srv.URL, name); code != 0 || requests != 1 {
		t.Errorf("second get: exit %d, %d requests (want the cached file)", code, requests)
	}

	img := writePNG(t, 40, 30)
	code, out, errOut = runVit(t, "predict", "-weights", path, "-image", img, "-json")
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, errOut)
	}
	var p prediction
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Logits) != 5 || p.Format != "timm" {
		t.Fatalf("predict output %q: %v", out, err)
	}

	srv.Close()
	code, _, errOut = runVit(t, "weights", "get", "-cache", t.TempDir(), "-mirror", srv.URL, name)
	if code != 1 || !strings.Contains(errOut, "by hand") {
		t.Errorf("offline get: exit %d, %q", code, errOut)
	}
}

// TestPredictWeights runs predict on the three fixture formats, with the GELU override and ImageNet labels.
func TestPredictWeights(t *testing.T) {
	img := writePNG(t, 20, 20)
	logits := map[string][]float32{}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"google", []string{"-weights", fixtures + "google.npz"}},
		{"google-exact", []string{"-weights", fixtures + "google.npz", "-gelu", "exact"}},
		{"hf", []string{"-weights", fixtures + "hf/model.safetensors"}},
		{"timm", []string{"-weights", fixtures + "timm.safetensors", "-heads", "3"}},
		{"timm-24", []string{"-weights", fixtures + "timm.safetensors", "-heads", "3", "-image-size", "24", "-pos-interp", "bicubic"}},
	} {
		code, out, errOut := runVit(t, append([]string{"predict", "-image", img, "-json"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, errOut)
		}
		var p prediction
		if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Logits) != 5 {
			t.Fatalf("%s: output %q: %v", tc.name, out, err)
		}
		logits[tc.name] = p.Logits
	}
	same := true
	for i := range logits["google"] {
		same = same && logits["google"][i] == logits["google-exact"][i]
	}
	if same {
		t.Error("-gelu exact did not change the logits of the tanh-GELU checkpoint")
	}

	// A 1000-class head (reset to zero) prints ImageNet's names.
	code, out, errOut := runVit(t, "predict", "-image", img, "-weights", fixtures+"timm.safetensors", "-heads", "3", "-classes", "1000", "-topk", "1")
	if code != 0 || !strings.Contains(out, "tench, Tinca tinca") {
		t.Errorf("1000 classes: exit %d, %q %q", code, out, errOut)
	}

	// Architecture flags conflict with -weights; bad files fail naming the file.
	if code, _, errOut := runVit(t, "predict", "-image", img, "-weights", fixtures+"google.npz", "-width", "32"); code != 2 || !strings.Contains(errOut, "-width") {
		t.Errorf("-width with -weights: exit %d %q", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	_ = os.WriteFile(bad, []byte("garbage!garbage!"), 0o644)
	if code, _, errOut := runVit(t, "predict", "-image", img, "-weights", bad); code != 1 || !strings.Contains(errOut, bad) || strings.Contains(errOut, "goroutine") {
		t.Errorf("bad weights: exit %d %q", code, errOut)
	}
	if code, _, errOut := runVit(t, "predict", "-image", img, "-weights", fixtures+"timm.safetensors", "-preset", "B/16"); code != 1 || !strings.Contains(errOut, "mis-shaped") {
		t.Errorf("wrong preset: exit %d %q", code, errOut)
	}
}

func TestWeightsInfoConvert(t *testing.T) {
	out := filepath.Join(t.TempDir(), "converted.safetensors")
	code, stdout, errOut := runVit(t, "weights", "convert", fixtures+"hf/model.safetensors", "-o", out)
	if code != 0 || !strings.Contains(stdout, "epsilon 1e-12") {
		t.Fatalf("convert: exit %d %q %q", code, stdout, errOut)
	}
	code, stdout, errOut = runVit(t, "weights", "info", out)
	if code != 0 || !strings.Contains(stdout, "format: timm") || !strings.Contains(stdout, "heads 3") {
		t.Errorf("info: exit %d %q %q", code, stdout, errOut)
	}
	code, _, errOut = runVit(t, "weights", "info", fixtures+"timm.safetensors")
	if code != 1 || !strings.Contains(errOut, "config.json") {
		t.Errorf("info without heads: exit %d %q", code, errOut)
	}
}

// TestWeightsGetHub: `vit weights get hf:ORG/NAME` downloads into the Hugging Face cache ($HF_HUB_CACHE) from
// $HF_ENDPOINT, the file it prints loads with its config.json; offline with an empty cache, one clear error.
func TestWeightsGetHub(t *testing.T) {
	model, err := os.ReadFile(fixtures + "hf/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(fixtures + "hf/config.json")
	if err != nil {
		t.Fatal(err)
	}
	const repo, commit = "google/vit-tiny-test", "89abcdef0123456789abcdef0123456789abcdef"
	sum := sha256.Sum256(model)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := filepath.Base(r.URL.Path)
		w.Header().Set("X-Repo-Commit", commit)
		switch name {
		case "model.safetensors":
			w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
			_, _ = w.Write(model)
		case "config.json":
			w.Header().Set("ETag", `"0123456789012345678901234567890123456789"`)
			_, _ = w.Write(config)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_OFFLINE", "")
	code, out, errOut := runVit(t, "weights", "get", "-q", "hf:"+repo)
	want := filepath.Join(cache, "models--google--vit-tiny-test", "snapshots", commit, "model.safetensors")
	if code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("get: exit %d, %q, %s", code, out, errOut)
	}
	code, out, errOut = runVit(t, "weights", "info", want)
	if code != 0 || !strings.Contains(out, "format: hf") || !strings.Contains(out, "heads 3") {
		t.Errorf("info: exit %d: %s %s", code, out, errOut)
	}
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "1")
	code, _, errOut = runVit(t, "weights", "get", "hf:"+repo)
	if code != 1 || !strings.Contains(errOut, "offline") || !strings.Contains(errOut, "models--google--vit-tiny-test") {
		t.Errorf("offline: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runVit(t, "weights", "get", "hf:bad"); code != 2 || !strings.Contains(errOut, "hf:ORG/NAME") {
		t.Errorf("bad name: exit %d: %s", code, errOut)
	}
}
