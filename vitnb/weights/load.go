// Package weights loads pretrained Vision Transformer checkpoints into vitnb models and saves vitnb models for
// PyTorch.
//
// Three formats are read, detected from the file and its key names: Google's .npz files
// (google-research/vision_transformer, keys named as vitnb's variables, optionally prefixed "opt/target/"),
// Hugging Face ViTModel / ViTForImageClassification safetensors (with config.json beside them, "vit." prefix
// optional) and timm VisionTransformer safetensors. The architecture is inferred from names and shapes; the
// number of heads from the .npz shapes, the config.json beside the file, a preset or an option. Every missing,
// unexpected and mis-shaped key is reported in one *MismatchError. The head can be reset (to zero, as the
// paper's fine-tuning) or dropped, and the position embeddings are resampled when the resolution changes
// (bilinear as vit_jax, or bicubic as timm). SaveTimm writes a model in timm's naming.
package weights

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/vitnb/vitnb/vitnb"
)

// Options adjust how a checkpoint is read and which model it becomes. The zero value loads the checkpoint as
// it is.
type Options struct {
	// Format forces the naming scheme; "" detects it from the keys.
	Format Format
	// Preset names a vitnb preset ("B/16") whose architecture (width, depth, heads, MLP, patch, channels) the
	// file must have: every difference is reported. Without it the architecture is inferred from the file.
	Preset string
	// Heads is the number of attention heads, for files that do not say it (timm files of non-standard width
	// without config.json).
	Heads int
	// NumClasses, if > 0 and different from the checkpoint's, replaces the head by a zero-initialised one of
	// this size (and drops pre_logits unless KeepPreLogits), as the paper's fine-tuning (Appendix B.1.1).
	NumClasses int
	// NoHead drops the head (and pre_logits unless KeepPreLogits): the model outputs the representation.
	NoHead bool
	// KeepPreLogits keeps the pre_logits layer when the head is replaced or dropped.
	KeepPreLogits bool
	// ImageSize, if > 0 and different from the checkpoint's, resamples the position-embedding grid.
	ImageSize int
	// Interpolation of the position-embedding grid: Bilinear (vit_jax, the default) or Bicubic (timm).
	Interpolation Interpolation
	// GELU overrides the format's GELU: tanh for Google .npz (JAX's default), exact for timm and Hugging Face
	// (unless config.json says gelu_pytorch_tanh).
	GELU vitnb.GELU
	// DType of the variables; Float32 by default.
	DType dtypes.DType
	// LayerNormEpsilon, if > 0, overrides the format's (1e-6 for Google and timm, config.json's for Hugging Face).
	LayerNormEpsilon float64
	// CheckConfig, if set, is called with the model's configuration (Loaded.Config) once it is validated, before
	// any tensor is read or resampled; its error stops the loading. classifier.Load checks there that the model
	// runs on one image in the backend's memory (vitnb.Config.CheckMemoryOn).
	CheckConfig func(vitnb.Config) error
}

// Validate checks the options' values (Load calls it); messages name the flags of `vit predict` that set them.
func (o Options) Validate() error {
	switch {
	case o.Interpolation != "" && o.Interpolation != Bilinear && o.Interpolation != Bicubic:
		return fmt.Errorf("-pos-interp %q: want %s or %s", o.Interpolation, Bilinear, Bicubic)
	case o.GELU != "" && o.GELU != vitnb.GELUExact && o.GELU != vitnb.GELUTanh:
		return fmt.Errorf("-gelu %q: want %s or %s", o.GELU, vitnb.GELUExact, vitnb.GELUTanh)
	case o.Heads < 0 || o.NumClasses < 0 || o.ImageSize < 0:
		return fmt.Errorf("-heads, -classes and -image-size must not be negative, got %d, %d and %d", o.Heads, o.NumClasses, o.ImageSize)
	case !(o.LayerNormEpsilon >= 0) || math.IsInf(o.LayerNormEpsilon, 0):
		return fmt.Errorf("-ln-eps must be a finite number >= 0, got %g", o.LayerNormEpsilon)
	}
	return nil
}

// Loaded describes a checkpoint loaded into a store.
type Loaded struct {
	// Path of the weights file.
	Path string
	// Format of its keys.
	Format Format
	// Config is the model to run with the loaded variables: the checkpoint's architecture with the options
	// applied (classes, image size, GELU, dtype).
	Config vitnb.Config
	// Checkpoint is the architecture stored in the file.
	Checkpoint vitnb.Config
	// Preprocessing is the input pipeline that goes with the weights.
	Preprocessing Preprocessing
	// Labels are the class names the file's config.json gives (Hugging Face id2label, timm label_names), or
	// ImageNet's for a 1000-class head without them; nil otherwise.
	Labels []string
	// Notes says, one line each, what was inferred or changed (where the heads came from, a head reset, a
	// resampled grid, keys ignored).
	Notes []string
}

// MismatchError holds every key of a checkpoint that does not fit the model; its message is one line, with the
// counts and the first keys of each kind.
type MismatchError struct {
	Path   string
	Format Format
	Config vitnb.Config
	// Missing lists the keys the model needs that the file lacks, with the shape expected.
	Missing []string
	// Unexpected lists the keys of the file that the model does not use.
	Unexpected []string
	// Misshaped lists keys whose shape differs: "key: file [a b], model needs [c d]".
	Misshaped []string
}

// Error says the mismatch in one line: the counts, and the first two keys of each kind (a checkpoint of another
// size has hundreds: `vit weights info` describes the file).
func (e *MismatchError) Error() string {
	var parts []string
	for _, list := range []struct {
		what string
		keys []string
	}{{"missing", e.Missing}, {"unexpected", e.Unexpected}, {"mis-shaped", e.Misshaped}} {
		if len(list.keys) == 0 {
			continue
		}
		shown, more := list.keys, ""
		if len(shown) > 2 {
			shown, more = shown[:2], fmt.Sprintf(", and %d more", len(shown)-2)
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s: %s%s)", len(list.keys), list.what, list.what,
			strings.Join(shown, "; "+list.what+": "), more))
	}
	return fmt.Sprintf("%s: the %s checkpoint does not fit %s: keys %s", e.Path, e.Format, e.Config,
		strings.Join(parts, ", "))
}

// Load reads the checkpoint at path into a new store, each variable at "/"+name (the root scope, as
// vitnb.Forward(store.RootScope(), ...) reads them).
func Load(path string, opts Options) (*model.Store, *Loaded, error) {
	store := model.NewStore()
	info, err := LoadInto(store, "/", path, opts)
	if err != nil {
		return nil, nil, err
	}
	return store, info, nil
}

// Inspect reads the checkpoint at path as Load does (every check included) and returns what it found, without
// keeping the variables: what `vit weights info` describes (Loaded.Describe).
func Inspect(path string, opts Options) (*Loaded, error) {
	store, info, err := Load(path, opts)
	if err != nil {
		return nil, err
	}
	store.Finalize()
	return info, nil
}

// LoadInto reads the checkpoint at path into store, with variables under scopePath ("/" for the root scope,
// "/vit" for a model built in scope.In("vit")). Variables already in the store are overwritten. Nothing is
// written to the store unless the whole checkpoint fits.
func LoadInto(store *model.Store, scopePath, path string, opts Options) (*Loaded, error) {
	if store == nil {
		return nil, fmt.Errorf("loading %s: no store for the variables (nil *model.Store): pass model.NewStore()", path)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("loading weights: no file name (an empty path)")
	}
	src, _, err := openSource(path)
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return nil, err
	}
	defer func() { _ = src.close() }()
	keys, ignored := normalizeKeys(src.keys())
	format := opts.Format
	if format == "" {
		if format, err = detectFormat(keys); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	sc, err := readSidecar(path)
	if err != nil {
		return nil, err
	}
	ckpt, headsFrom, err := inferConfig(format, keys, src, sc, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	info := &Loaded{Path: path, Format: format, Checkpoint: ckpt}
	info.Notes = append(info.Notes, fmt.Sprintf("%s checkpoint: %s (heads from %s)", format, ckpt, headsFrom))
	if len(ignored) > 0 {
		info.Notes = append(info.Notes, fmt.Sprintf("ignored %d keys outside opt/target/ (optimizer state)", len(ignored)))
	}

	// Check every key before reading anything.
	rs, optional := rules(format, ckpt)
	if err := checkKeys(path, format, ckpt, rs, optional, keys, src); err != nil {
		return nil, err
	}

	cfg, err := targetConfig(ckpt, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	info.Config = cfg
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// The variables are built in the host's memory, whatever the backend: check before reading or resampling.
	if err := cfg.CheckParamsMemory(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if opts.CheckConfig != nil {
		if err := opts.CheckConfig(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	interp := opts.Interpolation
	if interp == "" {
		interp = Bilinear
	}
	want := cfg.VariableShapes()
	ckptShapes := ckpt.VariableShapes()
	// Each source tensor is read into a reused buffer and converted straight into the variable's tensor, so
	// loading needs the model's size in memory plus a few tensors, not twice the file.
	values := map[string]*tensors.Tensor{}
	defer func() {
		for _, t := range values {
			if t != nil {
				_ = t.FinalizeAll() // Only on error: on success values is emptied below.
			}
		}
	}()
	rd := &reader{src: src, path: path}
	var scratch []float32
	for _, r := range rs {
		if _, keep := want[r.target]; !keep {
			info.Notes = append(info.Notes, "dropped "+r.target)
			continue
		}
		if strings.HasPrefix(r.target, vitnb.VarHead+"/") && !slices.Equal(want[r.target], ckptShapes[r.target]) {
			continue // A new head, initialised to zero below (the paper's fine-tuning).
		}
		src2 := make([][]float32, len(r.sources))
		for i, k := range r.sources {
			if src2[i], err = rd.read(keys[k]); err != nil {
				return nil, err
			}
		}
		n := size(ckptShapes[r.target])
		if cap(scratch) < n {
			scratch = make([]float32, n)
		}
		v := scratch[:n]
		if r.convert != nil {
			r.convert(src2, v)
		} else {
			copy(v, src2[0])
		}
		if r.target == vitnb.VarPosEmbedding && cfg.ImageSize != ckpt.ImageSize {
			prefix := 0
			if cfg.Pooling == vitnb.PoolToken {
				prefix = 1
			}
			v, err = ResamplePosEmbedding(v, ckpt.Width, prefix, ckpt.GridSize(), cfg.GridSize(), interp)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			info.Notes = append(info.Notes, fmt.Sprintf("position embeddings resampled from %dx%d to %dx%d (%s)",
				ckpt.GridSize(), ckpt.GridSize(), cfg.GridSize(), cfg.GridSize(), interp))
		}
		if values[r.target], err = toTensor(v, want[r.target], cfg.ParamDType()); err != nil {
			return nil, fmt.Errorf("%s: variable %s: %w", path, r.target, err)
		}
	}
	for name, dims := range want {
		if _, ok := values[name]; !ok { // A new head.
			if values[name], err = toTensor(make([]float32, size(dims)), dims, cfg.ParamDType()); err != nil {
				return nil, err
			}
		}
	}
	if cfg.NumClasses != ckpt.NumClasses {
		if cfg.NumClasses == 0 {
			info.Notes = append(info.Notes, "head dropped: the model outputs its representation")
		} else {
			info.Notes = append(info.Notes, fmt.Sprintf("head reset to zero with %d classes (checkpoint: %d)", cfg.NumClasses, ckpt.NumClasses))
		}
	}

	if info.Preprocessing, err = preprocessingFor(format, sc, cfg); err != nil {
		return nil, fmt.Errorf("%s: the preprocessing beside it: %w", path, err)
	}

	// Write the store only now that everything was read.
	prefix := "/" + strings.Trim(scopePath, "/")
	if prefix != "/" {
		prefix += "/"
	}
	for name, t := range values {
		delete(values, name)
		full := prefix + name
		if existing := store.GetVariable(full); existing != nil {
			err = existing.SetValue(t)
		} else {
			_, err = store.CreateVariable(full, t)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: variable %s: %w", path, full, err)
		}
	}

	info.Labels = labelsFor(sc, cfg.NumClasses)
	if cfg.NumClasses != ckpt.NumClasses {
		info.Labels = nil
		if cfg.NumClasses == 1000 {
			info.Labels = ImageNetClasses()
		}
	}
	return info, nil
}

// checkKeys compares the keys and shapes of the file with what the rules need and returns a *MismatchError
// listing every difference, or nil.
func checkKeys(path string, f Format, cfg vitnb.Config, rs []rule, optional []string, keys map[string]string, src source) error {
	e := &MismatchError{Path: path, Format: f, Config: cfg}
	used := map[string]bool{}
	for _, k := range optional {
		used[k] = true
	}
	for _, r := range rs {
		for i, k := range r.sources {
			if used[k] {
				continue // Checked already: timm's qkv feeds three variables.
			}
			used[k] = true
			raw, ok := keys[k]
			if !ok {
				e.Missing = append(e.Missing, fmt.Sprintf("%s %v", k, r.srcShapes[i]))
				continue
			}
			if got := src.shape(raw); !slices.Equal(got, r.srcShapes[i]) {
				e.Misshaped = append(e.Misshaped, fmt.Sprintf("%s: file %v, model needs %v", raw, got, r.srcShapes[i]))
			} else if dt := src.dtype(raw); !isFloatName(dt) {
				e.Misshaped = append(e.Misshaped, fmt.Sprintf("%s: dtype %s, want a float type", raw, dt))
			}
		}
	}
	for k, raw := range keys {
		if !used[k] {
			e.Unexpected = append(e.Unexpected, fmt.Sprintf("%s %v", raw, src.shape(raw)))
		}
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Misshaped) == 0 {
		return nil
	}
	sort.Strings(e.Missing)
	sort.Strings(e.Unexpected)
	sort.Strings(e.Misshaped)
	return e
}

// isFloatName says whether a safetensors or NumPy dtype name is a float type GoMLX reads.
func isFloatName(dt string) bool {
	switch strings.TrimLeft(dt, "<>|=") {
	case "F16", "BF16", "F32", "F64", "f2", "f4", "f8":
		return true
	}
	return false
}

// targetConfig applies the options to the checkpoint's config.
func targetConfig(ckpt vitnb.Config, opts Options) (vitnb.Config, error) {
	cfg := ckpt
	if opts.GELU != "" {
		cfg.GELU = opts.GELU
	}
	if opts.DType != dtypes.InvalidDType {
		cfg.DType = opts.DType
	}
	if opts.LayerNormEpsilon > 0 {
		cfg.LayerNormEpsilon = opts.LayerNormEpsilon
	}
	cfg = cfg.WithDefaults()
	if opts.ImageSize > 0 {
		if opts.ImageSize%cfg.PatchSize != 0 {
			return cfg, fmt.Errorf("image size %d is not a multiple of the patch size %d", opts.ImageSize, cfg.PatchSize)
		}
		cfg.ImageSize = opts.ImageSize
	}
	newHead := false
	switch {
	case opts.NoHead:
		cfg.NumClasses, newHead = 0, ckpt.NumClasses != 0
	case opts.NumClasses > 0 && opts.NumClasses != ckpt.NumClasses:
		cfg.NumClasses, newHead = opts.NumClasses, true
	}
	if newHead && !opts.KeepPreLogits {
		cfg.RepresentationSize = 0 // The paper replaces the whole head (both layers) when transferring.
	}
	return cfg, nil
}

func size(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// Describe writes what `vit weights info` prints: file, format, architecture, parameters, preprocessing, the
// loader's notes and the labels. A nil Loaded or writer writes nothing.
func (l *Loaded) Describe(w io.Writer) {
	if l == nil || w == nil {
		return
	}
	fmt.Fprintf(w, "file: %s\nformat: %s\nmodel: %s\nlayer norm epsilon: %g\nparameters: %d\npreprocessing: %s\n",
		l.Path, l.Format, l.Config, l.Config.LayerNormEpsilon, l.Config.NumParams(), l.Preprocessing)
	for _, n := range l.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(l.Labels) > 0 {
		fmt.Fprintf(w, "labels: %d (%s, ...)\n", len(l.Labels), l.Labels[0])
	}
}
