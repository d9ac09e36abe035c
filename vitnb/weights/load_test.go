package weights

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/numpy"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/weights/safetensors"
)

// The fixtures are written by testdata/make_fixtures.py (see its docstring for what each reference is).
const parityTolerance = 1e-4

var (
	backendOnce sync.Once
	testBackend compute.Backend
	backendErr  error
)

func getBackend(t testing.TB) compute.Backend {
	t.Helper()
	backendOnce.Do(func() { testBackend, _, backendErr = backend.New() })
	if backendErr != nil {
		t.Fatal(backendErr)
	}
	return testBackend
}

func readNpz(t testing.TB, path string) map[string]*tensors.Tensor {
	t.Helper()
	m, err := numpy.FromNpzFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// logitsOf runs the model of cfg with the store's variables on images.
func logitsOf(t testing.TB, store *model.Store, cfg vitnb.Config, images *tensors.Tensor) []float32 {
	t.Helper()
	exec, err := model.NewExec1(getBackend(t), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return vitnb.Logits(scope, cfg, x)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Call1(images)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out)
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func flat(t *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](t) }

// TestParity loads each fixture and compares the logits with the reference implementation's.
func TestParity(t *testing.T) {
	inputs := readNpz(t, "testdata/inputs.npz")
	refs := readNpz(t, "testdata/refs.npz")
	for _, tc := range []struct {
		name, file, ref, image string
		opts                   Options
		gelu                   vitnb.GELU
		eps                    float64
		pooling                vitnb.Pooling
	}{
		{"timm", "testdata/timm.safetensors", "timm", "image", Options{Heads: 3}, vitnb.GELUExact, 1e-6, vitnb.PoolToken},
		{"hf", "testdata/hf/model.safetensors", "hf", "image", Options{}, vitnb.GELUExact, 1e-12, vitnb.PoolToken},
		{"google", "testdata/google.npz", "google", "image", Options{}, vitnb.GELUTanh, 1e-6, vitnb.PoolToken},
		{"google_gap_prelogits", "testdata/google_gap.npz", "google_gap", "image", Options{}, vitnb.GELUTanh, 1e-6, vitnb.PoolMean},
		{"timm_24_bicubic", "testdata/timm.safetensors", "timm_24_bicubic", "image24",
			Options{Heads: 3, ImageSize: 24, Interpolation: Bicubic}, vitnb.GELUExact, 1e-6, vitnb.PoolToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, info, err := Load(tc.file, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			cfg := info.Config
			if cfg.GELU != tc.gelu || cfg.LayerNormEpsilon != tc.eps || cfg.Pooling != tc.pooling || cfg.Heads != 3 {
				t.Errorf("inferred %s, eps %g; want gelu %s, eps %g, pooling %s, 3 heads", cfg, cfg.LayerNormEpsilon, tc.gelu, tc.eps, tc.pooling)
			}
			got := logitsOf(t, store, cfg, inputs[tc.image])
			diff := maxAbsDiff(got, flat(refs[tc.ref]))
			t.Logf("%s: max |logit difference| = %.3g (%s)", tc.name, diff, cfg)
			if diff > parityTolerance || math.IsNaN(diff) {
				t.Errorf("%s: max |logit difference| %g > %g", tc.name, diff, parityTolerance)
			}
		})
	}
}

// TestGELUMatters checks that the fixtures tell the two GELUs apart: the Google checkpoint run with exact GELU
// misses the tanh reference by more than the tolerance.
func TestGELUMatters(t *testing.T) {
	inputs, refs := readNpz(t, "testdata/inputs.npz"), readNpz(t, "testdata/refs.npz")
	store, info, err := Load("testdata/google.npz", Options{GELU: vitnb.GELUExact})
	if err != nil {
		t.Fatal(err)
	}
	diff := maxAbsDiff(logitsOf(t, store, info.Config, inputs["image"]), flat(refs["google"]))
	t.Logf("tanh-GELU reference run with exact GELU: max |logit difference| = %.3g", diff)
	if diff < 2*parityTolerance {
		t.Errorf("exact GELU on the tanh reference differs by only %g: the fixture does not test the GELU choice", diff)
	}
}

// TestResamplePosEmbedding compares the grid resampling with timm's (bicubic, antialias) and scipy's zoom
// (order 1, as vit_jax), upsampling 4x4 to 6x6 and downsampling to 3x3.
func TestResamplePosEmbedding(t *testing.T) {
	ref := readNpz(t, "testdata/posembed.npz")
	f, err := safetensors.Open("testdata/timm.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	pos, _, err := f.ReadFloat32("pos_embed")
	if err != nil {
		t.Fatal(err)
	}
	for _, interp := range []Interpolation{Bicubic, Bilinear} {
		for _, g1 := range []int{6, 3} {
			got, err := ResamplePosEmbedding(pos, 24, 1, 4, g1, interp)
			if err != nil {
				t.Fatal(err)
			}
			want := flat(ref[string(interp)+"_"+string(rune('0'+g1))])
			if d := maxAbsDiff(got, want); d > 1e-5 {
				t.Errorf("%s 4->%d: max difference %g", interp, g1, d)
			}
		}
	}
	if got, _ := ResamplePosEmbedding(pos, 24, 1, 4, 4, Bicubic); maxAbsDiff(got, pos) > 1e-6 {
		t.Error("resampling to the same size should be the identity")
	}
}

// TestHeadReset replaces the head: zero-initialised with the new number of classes, pre_logits dropped.
func TestHeadReset(t *testing.T) {
	inputs := readNpz(t, "testdata/inputs.npz")
	store, info, err := Load("testdata/google_gap.npz", Options{NumClasses: 7})
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.NumClasses != 7 || info.Config.RepresentationSize != 0 || info.Checkpoint.RepresentationSize != 16 {
		t.Fatalf("config %s (checkpoint %s)", info.Config, info.Checkpoint)
	}
	for _, v := range logitsOf(t, store, info.Config, inputs["image"]) {
		if v != 0 {
			t.Fatalf("a zero head gives zero logits, got %v", v)
		}
	}
	if store.GetVariable("/"+vitnb.VarPreLogits+"/kernel") != nil {
		t.Error("pre_logits should be dropped with the head")
	}
	_, info, err = Load("testdata/google_gap.npz", Options{NoHead: true, KeepPreLogits: true})
	if err != nil || info.Config.NumClasses != 0 || info.Config.RepresentationSize != 16 {
		t.Errorf("no head, keep pre-logits: %v %v", info, err)
	}
	// 1000 classes bring ImageNet's names.
	_, info, err = Load("testdata/timm.safetensors", Options{Heads: 3, NumClasses: 1000})
	if err != nil || len(info.Labels) != 1000 || info.Labels[0] != "tench, Tinca tinca" {
		t.Errorf("1000-class head: labels %d, %v", len(info.Labels), err)
	}
}

// TestPrefixes loads an .npz whose keys carry "opt/target/" (next to optimizer state) and a Hugging Face file
// without the "vit." prefix.
func TestPrefixes(t *testing.T) {
	dir := t.TempDir()
	inputs, refs := readNpz(t, "testdata/inputs.npz"), readNpz(t, "testdata/refs.npz")

	g := readNpz(t, "testdata/google.npz")
	prefixed := map[string]*tensors.Tensor{"opt/state/step": tensors.FromValue(float32(3))}
	for k, v := range g {
		prefixed["opt/target/"+k] = v
	}
	path := filepath.Join(dir, "opt.npz")
	if err := numpy.ToNpzFile(prefixed, path); err != nil {
		t.Fatal(err)
	}
	store, info, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(logitsOf(t, store, info.Config, inputs["image"]), flat(refs["google"])); d > parityTolerance {
		t.Errorf("opt/target/ npz: max difference %g", d)
	}

	hfDir := filepath.Join(dir, "hf")
	_ = os.Mkdir(hfDir, 0o755)
	copyFile(t, "testdata/hf/config.json", filepath.Join(hfDir, "config.json"))
	rewriteSafetensors(t, "testdata/hf/model.safetensors", filepath.Join(hfDir, "model.safetensors"),
		func(name string) string { return strings.TrimPrefix(name, "vit.") })
	store, info, err = Load(filepath.Join(hfDir, "model.safetensors"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(logitsOf(t, store, info.Config, inputs["image"]), flat(refs["hf"])); d > parityTolerance {
		t.Errorf("HF without vit.: max difference %g", d)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rewriteSafetensors copies a float32 safetensors file, renaming each tensor (dropping it when rename gives "").
func rewriteSafetensors(t *testing.T, from, to string, rename func(string) string, extra ...safetensors.Tensor) {
	t.Helper()
	f, err := safetensors.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var list []safetensors.Tensor
	for _, name := range f.Names() {
		data, shape, err := f.ReadFloat32(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := rename(name); n != "" {
			list = append(list, safetensors.Float32Tensor(n, data, shape...))
		}
	}
	if err := safetensors.WriteFile(to, append(list, extra...), nil); err != nil {
		t.Fatal(err)
	}
}

// TestMismatchReport checks that every missing, unexpected and mis-shaped key is reported in one error.
func TestMismatchReport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edited.safetensors")
	rewriteSafetensors(t, "testdata/timm.safetensors", path, func(name string) string {
		switch name {
		case "blocks.1.mlp.fc2.bias", "blocks.0.attn.proj.bias":
			return ""
		case "blocks.0.norm2.bias":
			return "blocks.0.norm2.beta"
		}
		return name
	}, safetensors.Float32Tensor("blocks.0.attn.proj.bias", make([]float32, 25), 25))
	_, _, err := Load(path, Options{Heads: 3})
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("want a *MismatchError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		path, "missing: blocks.1.mlp.fc2.bias [24]", "missing: blocks.0.norm2.bias [24]",
		"unexpected: blocks.0.norm2.beta [24]", "mis-shaped: blocks.0.attn.proj.bias: file [25], model needs [24]",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
	if len(me.Missing) != 2 || len(me.Unexpected) != 1 || len(me.Misshaped) != 1 {
		t.Errorf("counts: %d missing, %d unexpected, %d mis-shaped:\n%s", len(me.Missing), len(me.Unexpected), len(me.Misshaped), msg)
	}

	// A file of another size: checked against a preset, every tensor is mis-shaped and the extra blocks missing,
	// said in one line (it was one line per key: 150 for `predict -weights micro.safetensors -preset B/16`).
	_, _, err = Load("testdata/timm.safetensors", Options{Preset: "Ti/16"})
	if !errors.As(err, &me) || len(me.Misshaped) == 0 || len(me.Missing) == 0 || strings.Contains(err.Error(), "\n") ||
		!strings.Contains(err.Error(), fmt.Sprintf("%d missing (missing: ", len(me.Missing))) || len(err.Error()) > 800 {
		t.Errorf("Ti/16 preset on a width-24 file: %v", err)
	}
}

// TestBadFiles: truncated files, lying headers, unknown dtypes, other models: clear errors naming the file
// (and the key where there is one), never a panic.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	truncate := func(from, name string, frac float64) string {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data[:int(float64(len(data))*frac)], 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := filepath.Join(dir, "bert.safetensors")
	if err := safetensors.WriteFile(other, []safetensors.Tensor{
		safetensors.Float32Tensor("bert.embeddings.word_embeddings.weight", make([]float32, 8), 2, 4)}, nil); err != nil {
		t.Fatal(err)
	}
	f8 := filepath.Join(dir, "f8.safetensors")
	header := `{"patch_embed.proj.weight":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`
	raw := append([]byte{byte(len(header)), 0, 0, 0, 0, 0, 0, 0}, header...)
	_ = os.WriteFile(f8, append(raw, 0), 0o644)

	// An .npz entry whose header claims more data than it holds (written uncompressed to edit it).
	lying := filepath.Join(dir, "lying.npz")
	{
		g := readNpz(t, "testdata/google.npz")
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for k, v := range g {
			var npy bytes.Buffer
			if err := numpy.ToNpyWriter(v, &npy); err != nil {
				t.Fatal(err)
			}
			data := npy.Bytes()
			if k == "embedding/bias" {
				data = bytes.Replace(data, []byte("'shape': (24,)"), []byte("'shape': (99,)"), 1)
			}
			w, err := zw.CreateHeader(&zip.FileHeader{Name: k + ".npy", Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write(data)
		}
		_ = zw.Close()
		_ = os.WriteFile(lying, buf.Bytes(), 0o644)
	}

	for _, tc := range []struct {
		path string
		want []string
	}{
		{truncate("testdata/timm.safetensors", "trunc.safetensors", 0.5), []string{"truncated"}},
		{truncate("testdata/timm.safetensors", "trunc4.safetensors", 0.0001), []string{"safetensors"}},
		{truncate("testdata/google.npz", "trunc.npz", 0.5), []string{".npz"}},
		{other, []string{"not a ViT checkpoint", "bert.embeddings.word_embeddings.weight"}},
		{f8, []string{`"patch_embed.proj.weight"`, "F8_E4M3"}},
		{lying, []string{`"embedding/bias"`, "<f4[99]"}},
		{filepath.Join(dir, "absent.npz"), []string{"no such file"}},
		// A folder and a device: "too short (4096 bytes)" and "only -8 bytes follow" before.
		{dir, []string{"is not a weights file but a folder: give the weights file in it"}},
		{"/dev/zero", []string{"is not a weights file but a device, a pipe or a socket"}},
	} {
		_, _, err := Load(tc.path, Options{Heads: 3})
		if err == nil {
			t.Errorf("%s: no error", tc.path)
			continue
		}
		for _, w := range append(tc.want, tc.path) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", filepath.Base(tc.path), err, w)
			}
		}
	}
}

// TestTimmHeadsUnknown: a timm file of non-standard width without config.json needs the number of heads.
func TestTimmHeadsUnknown(t *testing.T) {
	_, _, err := Load("testdata/timm.safetensors", Options{})
	if err == nil || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), "heads") {
		t.Errorf("want an error asking for the heads, got %v", err)
	}
}

// TestSaveTimmRoundTrip loads each fixture, saves it in timm's naming and loads the saved file: same logits.
func TestSaveTimmRoundTrip(t *testing.T) {
	inputs, refs := readNpz(t, "testdata/inputs.npz"), readNpz(t, "testdata/refs.npz")
	for _, tc := range []struct{ file, ref string }{
		{"testdata/google.npz", "google"}, {"testdata/google_gap.npz", "google_gap"}, {"testdata/hf/model.safetensors", "hf"},
	} {
		store, info, err := Load(tc.file, Options{})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "saved.safetensors")
		if dir := os.Getenv("VITNB_KEEP_SAVED"); dir != "" { // For checking the files with timm in Python.
			out = filepath.Join(dir, tc.ref+".timm.safetensors")
		}
		if err := SaveTimm(out, store, "/", info.Config); err != nil {
			t.Fatal(err)
		}
		// The file says its heads and GELU; HF's epsilon (1e-12) is not timm's (1e-6): give it back.
		store2, info2, err := Load(out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if info2.Format != FormatTimm || info2.Config.Heads != 3 || info2.Config.GELU != info.Config.GELU {
			t.Errorf("%s: saved file read as %s %s", tc.file, info2.Format, info2.Config)
		}
		cfg := info2.Config
		cfg.LayerNormEpsilon = info.Config.LayerNormEpsilon
		if d := maxAbsDiff(logitsOf(t, store2, cfg, inputs["image"]), flat(refs[tc.ref])); d > parityTolerance {
			t.Errorf("%s saved as timm: max difference %g", tc.file, d)
		}
	}
}

// TestFullSizeParity compares ViT-B/16 at 224 (random weights, 1000 classes) in the three formats with timm's
// and Hugging Face's logits. It needs the checkpoints of `make_fixtures.py --full DIR` (about 1 GB):
//
//	VITNB_FULL_PARITY_DIR=DIR go test -run TestFullSizeParity -v ./vitnb/weights/
func TestFullSizeParity(t *testing.T) {
	dir := os.Getenv("VITNB_FULL_PARITY_DIR")
	if dir == "" {
		t.Skip("VITNB_FULL_PARITY_DIR not set: write the checkpoints with make_fixtures.py --full DIR")
	}
	inputs, refs := readNpz(t, filepath.Join(dir, "inputs.npz")), readNpz(t, filepath.Join(dir, "refs.npz"))
	for _, tc := range []struct{ file, ref string }{
		{"timm.safetensors", "timm"}, {"hf/model.safetensors", "hf"}, {"google.npz", "google"},
	} {
		t.Run(tc.ref, func(t *testing.T) { fullSizeParity(t, dir, tc.file, tc.ref, inputs, refs) })
	}
}

// fullSizeParity loads one full-size checkpoint and compares its logits; run the formats one per process
// (-run TestFullSizeParity/hf) for meaningful peak-memory numbers.
func fullSizeParity(t *testing.T, dir, file, ref string, inputs, refs map[string]*tensors.Tensor) {
	tc := struct{ file, ref string }{file, ref}
	{
		var before syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		store, info, err := Load(filepath.Join(dir, tc.file), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var after syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		st, _ := os.Stat(filepath.Join(dir, tc.file))
		diff := maxAbsDiff(logitsOf(t, store, info.Config, inputs["image"]), flat(refs[tc.ref]))
		t.Logf("%s: %s; max |logit difference| vs %s reference = %.3g; file %.0f MB, peak RSS after loading %.0f MB (before %.0f MB)",
			tc.file, info.Config, tc.ref, diff, float64(st.Size())/1e6, float64(after.Maxrss)/1e3, float64(before.Maxrss)/1e3)
		if diff > parityTolerance || math.IsNaN(diff) {
			t.Errorf("%s: max |logit difference| %g > %g", tc.file, diff, parityTolerance)
		}
		store.Finalize()
		runtime.GC()
	}
}

// TestHFPooler: a ViTModel (pooler, no classifier) loads its pooler as pre_logits and has no head; a file with
// both keeps the classifier and ignores the pooler, as ViTForImageClassification does.
func TestHFPooler(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "testdata/hf/config.json", filepath.Join(dir, "config.json"))
	pooler := []safetensors.Tensor{
		safetensors.Float32Tensor("vit.pooler.dense.weight", make([]float32, 24*24), 24, 24),
		safetensors.Float32Tensor("vit.pooler.dense.bias", make([]float32, 24), 24),
	}
	path := filepath.Join(dir, "model.safetensors")
	rewriteSafetensors(t, "testdata/hf/model.safetensors", path, func(name string) string {
		if strings.HasPrefix(name, "classifier.") {
			return ""
		}
		return name
	}, pooler...)
	_, info, err := Load(path, Options{})
	if err != nil || info.Config.RepresentationSize != 24 || info.Config.NumClasses != 0 {
		t.Fatalf("ViTModel with pooler: %v %v", info, err)
	}
	rewriteSafetensors(t, "testdata/hf/model.safetensors", path, func(name string) string { return name }, pooler...)
	inputs, refs := readNpz(t, "testdata/inputs.npz"), readNpz(t, "testdata/refs.npz")
	store, info, err := Load(path, Options{})
	if err != nil || info.Config.RepresentationSize != 0 || info.Config.NumClasses != 5 {
		t.Fatalf("classifier and pooler: %v %v", info, err)
	}
	if d := maxAbsDiff(logitsOf(t, store, info.Config, inputs["image"]), flat(refs["hf"])); d > parityTolerance {
		t.Errorf("pooler should be ignored next to a classifier: max difference %g", d)
	}
}

// TestDTypes loads for bfloat16 and float16 computation (float32 master weights, Config.ParamDType) and into
// float64 variables.
func TestDTypes(t *testing.T) {
	for _, dt := range []dtypes.DType{dtypes.BFloat16, dtypes.Float16, dtypes.Float64} {
		store, info, err := Load("testdata/google.npz", Options{DType: dt})
		if err != nil {
			t.Fatal(err)
		}
		v := store.GetVariable("/" + vitnb.VarPatchKernel)
		if v == nil || v.DType() != info.Config.ParamDType() || info.Config.DType != dt {
			t.Errorf("%s: variable %v, config %s", dt, v, info.Config.DType)
		}
		val, _ := v.Value()
		got, _ := tensorToFloat32(val)
		f, _ := openNpz("testdata/google.npz")
		want, _ := f.read(vitnb.VarPatchKernel, nil)
		_ = f.close()
		if d := maxAbsDiff(got, want); d > 0.01 {
			t.Errorf("%s: values differ by %g", dt, d)
		}
	}
}

// TestPreprocessingSidecarErrors: a preprocessor_config.json that a model cannot use is an error naming it when
// the weights load; it was an error blamed on each image ("img.png: preprocessing: channel 0 has ... std 0"), or,
// for a mean and std of 2 channels for an RGB model, ignored without a word.
func TestPreprocessingSidecarErrors(t *testing.T) {
	model, err := os.ReadFile("testdata/hf/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile("testdata/hf/config.json")
	if err != nil {
		t.Fatal(err)
	}
	for pre, want := range map[string]string{
		`{"image_mean":[0.5,0.5,0.5],"image_std":[0,0.5,0.5]}`: "preprocessing: channel 0 has mean 0.5 and std 0",
		`{"image_mean":[0.4,0.5],"image_std":[0.5,0.5]}`:       "image_mean [0.4 0.5]: 2 values for 3 channels",
		`{"resample":9}`: "resample 9: want 2 (bilinear) or 3 (bicubic)",
		`{"image_mean":[0.4,0.5,0.6],"image_std":[0.2,0.3,0.4],"resample":3}`: "",
	} {
		dir := t.TempDir()
		for name, data := range map[string][]byte{"model.safetensors": model, "config.json": config, "preprocessor_config.json": []byte(pre)} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, "model.safetensors")
		_, info, err := Load(path, Options{})
		switch {
		case want == "" && (err != nil || info.Preprocessing.Resize != "bicubic" || info.Preprocessing.Std[2] != 0.4):
			t.Errorf("%s: %v %+v", pre, err, info)
		case want != "" && (err == nil || !strings.Contains(err.Error(),
			path+": the preprocessing beside it: "+filepath.Join(dir, "preprocessor_config.json")+": "+want)):
			t.Errorf("%s: got %v, want %q", pre, err, want)
		}
	}
}
