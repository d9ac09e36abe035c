package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/files"
)

// sidecar is what config.json (Hugging Face or timm, beside the weights) and Hugging Face's
// preprocessor_config.json say.
type sidecar struct {
	path string // config.json's path, "" if absent.

	// Hugging Face ViTConfig.
	HiddenSize        int               `json:"hidden_size"`
	NumHiddenLayers   int               `json:"num_hidden_layers"`
	NumAttentionHeads int               `json:"num_attention_heads"`
	IntermediateSize  int               `json:"intermediate_size"`
	ImageSize         json.RawMessage   `json:"image_size"`
	PatchSize         json.RawMessage   `json:"patch_size"`
	NumChannels       int               `json:"num_channels"`
	LayerNormEps      float64           `json:"layer_norm_eps"`
	HiddenAct         string            `json:"hidden_act"`
	ID2Label          map[string]string `json:"id2label"`

	// timm hub config.
	Architecture   string          `json:"architecture"`
	NumClasses     *int            `json:"num_classes"`
	NumFeatures    int             `json:"num_features"`
	GlobalPool     *string         `json:"global_pool"`
	LabelNames     []string        `json:"label_names"`
	PretrainedCfg  *timmPretrained `json:"pretrained_cfg"`
	ModelArgs      map[string]any  `json:"model_args"`
	preprocessorHF *hfPreprocessor
	ppPath         string // preprocessor_config.json's path, "" if absent.
}

type timmPretrained struct {
	InputSize     []int     `json:"input_size"`
	Mean          []float64 `json:"mean"`
	Std           []float64 `json:"std"`
	CropPct       float64   `json:"crop_pct"`
	Interpolation string    `json:"interpolation"`
	NumClasses    *int      `json:"num_classes"`
}

type hfPreprocessor struct {
	ImageMean []float64       `json:"image_mean"`
	ImageStd  []float64       `json:"image_std"`
	Size      json.RawMessage `json:"size"`
	Resample  *int            `json:"resample"`
}

// readSidecar reads config.json (and preprocessor_config.json) from the folder of the weights, if present.
func readSidecar(weightsPath string) (*sidecar, error) {
	dir := filepath.Dir(weightsPath)
	sc := &sidecar{}
	path := filepath.Join(dir, "config.json")
	if data, err := readSidecarFile(path); err != nil {
		return nil, err
	} else if data != nil {
		if err := json.Unmarshal(data, sc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		sc.path = path
	}
	ppPath := filepath.Join(dir, "preprocessor_config.json")
	if data, err := readSidecarFile(ppPath); err != nil {
		return nil, err
	} else if data != nil {
		pp := &hfPreprocessor{}
		if err := json.Unmarshal(data, pp); err != nil {
			return nil, fmt.Errorf("%s: %w", ppPath, err)
		}
		sc.preprocessorHF, sc.ppPath = pp, ppPath
	}
	return sc, nil
}

// check tells where config.json contradicts the architecture of the weights beside it (cfg, read from their names
// and shapes), naming both values: sizes, depth, classes, pooling (timm's global_pool "avg" is vitnb's mean
// pooling only without a class token), resolution and the number of class names. Without it a config.json
// edited, or of another model, changed the labels or the preprocessing without a word.
func (sc *sidecar) check(f Format, cfg vitnb.Config) error {
	if sc.path == "" {
		return nil
	}
	var diffs []string
	differ := func(field string, said, weights any) {
		if said != weights {
			diffs = append(diffs, fmt.Sprintf("%s %v, the weights %v", field, said, weights))
		}
	}
	positive := func(field string, said, weights int) {
		if said > 0 {
			differ(field, said, weights)
		}
	}
	switch f {
	case FormatHF:
		positive("hidden_size", sc.HiddenSize, cfg.Width)
		positive("num_hidden_layers", sc.NumHiddenLayers, cfg.Depth)
		positive("intermediate_size", sc.IntermediateSize, cfg.MLPDim)
		positive("num_channels", sc.NumChannels, cfg.Channels)
		positive("patch_size", intOf(sc.PatchSize), cfg.PatchSize)
		positive("image_size", intOf(sc.ImageSize), cfg.ImageSize)
		if n := len(sc.ID2Label); n > 0 && cfg.NumClasses > 0 && !placeholderLabels(sc.ID2Label) {
			differ("id2label: classes", n, cfg.NumClasses)
		}
	case FormatTimm:
		arg := func(key string) int {
			switch v := sc.ModelArgs[key].(type) {
			case float64:
				return int(v)
			case []any:
				if len(v) == 0 {
					return -1
				}
				if n, ok := v[len(v)-1].(float64); ok {
					return int(n)
				}
			}
			return -1
		}
		for _, a := range []struct {
			key     string
			weights int
		}{{"embed_dim", cfg.Width}, {"depth", cfg.Depth}, {"patch_size", cfg.PatchSize}, {"in_chans", cfg.Channels},
			{"img_size", cfg.ImageSize}, {"num_classes", cfg.NumClasses}} {
			if _, ok := sc.ModelArgs[a.key]; ok {
				differ("model_args "+a.key, arg(a.key), a.weights)
			}
		}
		if r, ok := sc.ModelArgs["mlp_ratio"].(float64); ok && math.Abs(r*float64(cfg.Width)-float64(cfg.MLPDim)) >= 1 {
			differ("model_args mlp_ratio", r, float64(cfg.MLPDim)/float64(cfg.Width))
		}
		if token, ok := sc.ModelArgs["class_token"].(bool); ok {
			differ("model_args class_token", token, cfg.Pooling == vitnb.PoolToken)
		}
		if fcNorm, ok := sc.ModelArgs["fc_norm"].(bool); ok && fcNorm {
			diffs = append(diffs, "model_args fc_norm true: timm's LayerNorm after pooling is not the order vitnb implements")
		}
		diffs = append(diffs, plainViTArgs(sc.ModelArgs, cfg)...)
		pools := map[string]any{"model_args global_pool": sc.ModelArgs["global_pool"]}
		if sc.GlobalPool != nil {
			pools["global_pool"] = *sc.GlobalPool
		}
		for field, v := range pools {
			if pool, ok := v.(string); ok {
				want := map[vitnb.Pooling]string{vitnb.PoolToken: "token", vitnb.PoolMean: "avg"}[cfg.Pooling]
				if pool != want {
					diffs = append(diffs, fmt.Sprintf("%s %q, but the weights (%s) pool with %q (a class token is "+
						"\"token\", none is \"avg\": the mean of every token after the final norm)", field, pool,
						map[bool]string{true: "with a class token", false: "without a class token"}[cfg.Pooling == vitnb.PoolToken], want))
				}
			}
		}
		if sc.NumClasses != nil {
			differ("num_classes", *sc.NumClasses, cfg.NumClasses)
		}
		positive("num_features", sc.NumFeatures, cfg.Width)
		if pc := sc.PretrainedCfg; pc != nil {
			if len(pc.InputSize) == 3 {
				differ("pretrained_cfg input_size", fmt.Sprint(pc.InputSize),
					fmt.Sprint([]int{cfg.Channels, cfg.ImageSize, cfg.ImageSize}))
			}
			if pc.NumClasses != nil {
				differ("pretrained_cfg num_classes", *pc.NumClasses, cfg.NumClasses)
			}
		}
		if n := len(sc.LabelNames); n > 0 {
			differ("label_names: classes", n, cfg.NumClasses)
		}
	}
	if err := datasets.CheckClassNames(sc.LabelNames); err != nil {
		diffs = append(diffs, "label_names: "+err.Error())
	}
	if !placeholderLabels(sc.ID2Label) {
		for id, name := range sc.ID2Label {
			if strings.TrimSpace(name) == "" {
				diffs = append(diffs, fmt.Sprintf("id2label: class %s has a blank name %q", id, name))
				break
			}
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s does not describe the weights beside it: %s", sc.path, strings.Join(diffs, "; "))
	}
	return nil
}

// plainViTArgs names the timm model_args that make a model other than the plain ViT that vitnb computes, which
// the weights' names and shapes need not show (an activation, LayerScale, register tokens, a norm before the
// encoder, ...): timm builds that other model from them, vitnb would silently run the plain one on its weights.
func plainViTArgs(args map[string]any, cfg vitnb.Config) []string {
	gelu := map[vitnb.GELU]string{vitnb.GELUExact: "gelu", vitnb.GELUTanh: "gelu_tanh"}[cfg.GELU]
	plain := []struct {
		key string
		ok  func(v any) bool
	}{
		{"act_layer", func(v any) bool { return v == nil || v == gelu }},
		{"norm_layer", func(v any) bool { return v == nil || v == "layernorm" || v == "LayerNorm" }},
		{"qkv_bias", func(v any) bool { return v == nil || v == true }},
		{"proj_bias", func(v any) bool { return v == nil || v == true }},
		{"qk_norm", func(v any) bool { return v == nil || v == false }},
		{"pre_norm", func(v any) bool { return v == nil || v == false }},
		{"no_embed_class", func(v any) bool { return v == nil || v == false }},
		{"init_values", func(v any) bool { return v == nil }},
		{"reg_tokens", func(v any) bool { return v == nil || v == 0.0 }},
	}
	var out []string
	for _, p := range plain {
		if v, ok := args[p.key]; ok && !p.ok(v) {
			shown, _ := json.Marshal(v)
			out = append(out, fmt.Sprintf("model_args %s %s: a timm option that changes the model, which vitnb does not implement", p.key, shown))
		}
	}
	return out
}

// readSidecarFile reads a file beside the weights: nil when there is none; an error for one that is there and
// cannot be read (a folder named config.json, say), which was ignored before.
func readSidecarFile(path string) ([]byte, error) {
	data, err := files.ReadSidecar(path)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	}
	return nil, fmt.Errorf("reading the weights' configuration: %w", err)
}

// intOf reads an int or the first of a list of ints ([224, 224]) from JSON.
func intOf(raw json.RawMessage) int {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n
	}
	var list []int
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return list[len(list)-1]
	}
	var m map[string]int
	if json.Unmarshal(raw, &m) == nil {
		if v, ok := m["height"]; ok {
			return v
		}
		if v, ok := m["shortest_edge"]; ok {
			return v
		}
	}
	return 0
}

// headsClaim is a number of attention heads and where it is stated.
type headsClaim struct {
	n    int
	from string
}

// standardHeads is the number of heads of the standard ViT widths (head dim 64), for timm files without a
// config.json.
var standardHeads = map[int]int{192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16}

var blockIndexRe = map[Format]*regexp.Regexp{
	FormatGoogle: regexp.MustCompile(`^` + regexp.QuoteMeta(strings.TrimSuffix(vitnb.BlockScope(0), "0")) + `(\d+)/`),
	FormatHF:     regexp.MustCompile(`^encoder\.layer\.(\d+)\.`),
	FormatTimm:   regexp.MustCompile(`^blocks\.(\d+)\.`),
}

// inferConfig reads the architecture from the keys and shapes of a checkpoint (normalized keys), its sidecar
// config.json and opts. It fails only when something needed cannot be known (the number of heads of a timm file
// of non-standard width) or shapes are unusable; keys that are missing or mis-shaped for the inferred config
// are reported by the loader afterwards.
func inferConfig(f Format, keys map[string]string, src source, sc *sidecar, opts Options) (vitnb.Config, string, error) {
	shape := func(k string) []int {
		if raw, ok := keys[k]; ok {
			return src.shape(raw)
		}
		return nil
	}
	cfg := vitnb.Config{Name: string(f), Pooling: vitnb.PoolToken, LayerNormEpsilon: 1e-6, GELU: vitnb.GELUExact}
	headsFrom := ""

	// Patch embedding: channels, patch size and width.
	pk := shape(patchKeys[f])
	if len(pk) != 4 {
		return cfg, "", fmt.Errorf("key %q: want a rank-4 patch kernel, got shape %v", keys[patchKeys[f]], pk)
	}
	if f == FormatGoogle { // HWIO
		cfg.PatchSize, cfg.Channels, cfg.Width = pk[0], pk[2], pk[3]
		if pk[0] != pk[1] {
			return cfg, "", fmt.Errorf("key %q: non-square patches %v are not supported", keys[patchKeys[f]], pk)
		}
	} else { // OIHW
		cfg.Width, cfg.Channels, cfg.PatchSize = pk[0], pk[1], pk[2]
		if pk[2] != pk[3] {
			return cfg, "", fmt.Errorf("key %q: non-square patches %v are not supported", keys[patchKeys[f]], pk)
		}
	}

	// Depth: one more than the largest block index.
	for k := range keys {
		if m := blockIndexRe[f].FindStringSubmatch(k); m != nil {
			if i, err := strconv.Atoi(m[1]); err == nil && i+1 > cfg.Depth && i < 10000 {
				cfg.Depth = i + 1
			}
		}
	}

	mlpKey := keyFor(f, vitnb.BlockScope(0)+"/"+vitnb.BlockMLP+"/"+vitnb.MLPDense0+"/kernel")
	posKey, clsKey := keyFor(f, vitnb.VarPosEmbedding), keyFor(f, vitnb.VarClassToken)
	headKey, reprKey := keyFor(f, vitnb.VarHead+"/kernel"), keyFor(f, vitnb.VarPreLogits+"/kernel")
	switch f {
	case FormatGoogle:
		cfg.GELU = vitnb.GELUTanh
		if q := shape(vitnb.BlockScope(0) + "/" + vitnb.BlockAttention + "/query/kernel"); len(q) == 3 {
			cfg.Heads, headsFrom = q[1], "the shape of the query kernel"
		}
	case FormatHF:
		if _, ok := keys[headKey]; ok {
			reprKey = "" // A classifier: the pooler, if any, is not used (a ViTModel's pooler is its pre-logits).
		}
		cfg.LayerNormEpsilon = 1e-12 // transformers' ViTConfig default.
	case FormatTimm:
		if _, ok := keys["fc_norm.weight"]; ok {
			return cfg, "", fmt.Errorf("key %q: timm's fc_norm (mean pooling, then LayerNorm) is not the Google "+
				"order (LayerNorm, then mean) that vitnb implements", keys["fc_norm.weight"])
		}
	}
	if s := shape(mlpKey); len(s) == 2 {
		if f == FormatGoogle {
			cfg.MLPDim = s[1]
		} else {
			cfg.MLPDim = s[0]
		}
	} else {
		cfg.MLPDim = 4 * cfg.Width
	}
	if _, ok := keys[clsKey]; !ok {
		cfg.Pooling = vitnb.PoolMean
	}
	if s := shape(reprKey); len(s) == 2 {
		cfg.RepresentationSize = s[0]
		if f == FormatGoogle {
			cfg.RepresentationSize = s[1]
		}
	}
	if s := shape(headKey); len(s) == 2 {
		cfg.NumClasses = s[0]
		if f == FormatGoogle {
			cfg.NumClasses = s[1]
		}
	}

	// Image size from the number of position embeddings.
	pos := shape(posKey)
	if len(pos) != 3 || pos[0] != 1 {
		return cfg, "", fmt.Errorf("key %q: want position embeddings [1, tokens, width], got shape %v", keys[posKey], pos)
	}
	patches := pos[1]
	if cfg.Pooling == vitnb.PoolToken {
		patches--
	}
	grid := int(math.Round(math.Sqrt(float64(patches))))
	if grid*grid != patches || grid == 0 {
		return cfg, "", fmt.Errorf("key %q: %d position embeddings do not make a square grid of patches", keys[posKey], pos[1])
	}
	cfg.ImageSize = grid * cfg.PatchSize

	// The number of heads, where the file or the caller states it: every statement must agree (a config.json
	// that says 4 heads for a file whose metadata says 2 would otherwise give wrong answers without a word).
	// The caller's choice (the heads option, else the preset's) comes first; the shapes of a Google file, when
	// they disagree with it, are reported by the key check.
	var heads []headsClaim
	if opts.Heads > 0 {
		heads = append(heads, headsClaim{opts.Heads, "the heads option"})
	} else if p, err := vitnb.Preset(opts.Preset); opts.Preset != "" && err == nil {
		heads = append(heads, headsClaim{p.Heads, "preset " + p.Name})
	} else if cfg.Heads > 0 {
		heads = append(heads, headsClaim{cfg.Heads, headsFrom})
	}
	if sc.path != "" {
		if f == FormatHF {
			if sc.NumAttentionHeads > 0 {
				heads = append(heads, headsClaim{sc.NumAttentionHeads, sc.path})
			}
			if sc.LayerNormEps > 0 {
				cfg.LayerNormEpsilon = sc.LayerNormEps
			}
			switch sc.HiddenAct {
			case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate":
				cfg.GELU = vitnb.GELUTanh
			case "", "gelu":
			default:
				return cfg, "", fmt.Errorf("%s: hidden_act %q is not a GELU; vitnb supports gelu (exact) and gelu_pytorch_tanh", sc.path, sc.HiddenAct)
			}
		}
		if n, ok := sc.ModelArgs["num_heads"].(float64); f == FormatTimm && ok {
			heads = append(heads, headsClaim{int(n), sc.path + " (model_args)"})
		}
	}

	// Files written by SaveTimm say their heads and GELU in the metadata.
	if meta := src.metadata(); meta != nil {
		if v, ok := meta[metaHeads]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				n = -1
			}
			heads = append(heads, headsClaim{n, "the file's metadata"})
		}
		if g := vitnb.GELU(meta[metaGELU]); g == vitnb.GELUExact || g == vitnb.GELUTanh {
			cfg.GELU = g
		}
	}

	// Options: a preset fixes the architecture (the file is then checked against it), -heads the heads.
	if opts.Preset != "" {
		p, err := vitnb.Preset(opts.Preset)
		if err != nil {
			return cfg, "", err
		}
		cfg.Name = p.Name
		cfg.Width, cfg.Depth, cfg.Heads, cfg.MLPDim, cfg.PatchSize, cfg.Channels = p.Width, p.Depth, p.Heads, p.MLPDim, p.PatchSize, p.Channels
		cfg.ImageSize = grid * cfg.PatchSize
	}
	for _, h := range heads {
		if h.n != heads[0].n {
			return cfg, "", fmt.Errorf("the number of attention heads: %d in %s, %d in %s", heads[0].n, heads[0].from, h.n, h.from)
		}
	}
	if len(heads) > 0 {
		cfg.Heads, headsFrom = heads[0].n, heads[0].from
	}
	if cfg.Heads == 0 && f == FormatTimm && sc.Architecture != "" {
		if p, err := vitnb.Preset(sc.Architecture); err == nil && p.Width == cfg.Width {
			cfg.Heads, headsFrom = p.Heads, fmt.Sprintf("%s (architecture %s)", sc.path, sc.Architecture)
		}
	}
	if cfg.Heads == 0 {
		if h, ok := standardHeads[cfg.Width]; ok {
			cfg.Heads, headsFrom = h, fmt.Sprintf("the standard ViT of width %d", cfg.Width)
		} else {
			return cfg, "", fmt.Errorf("the number of attention heads cannot be read from the %s names and shapes "+
				"(width %d): put the model's config.json beside the file, or give a preset or the number of heads", f, cfg.Width)
		}
	}
	if opts.Preset == "" {
		// What config.json says of the architecture must be what the file holds.
		if err := sc.check(f, cfg); err != nil {
			return cfg, "", err
		}
	}
	if cfg.Heads <= 0 || cfg.Width%cfg.Heads != 0 {
		return cfg, "", fmt.Errorf("width %d is not divisible by %d heads (from %s)", cfg.Width, cfg.Heads, headsFrom)
	}
	return cfg.WithDefaults(), headsFrom, nil
}
