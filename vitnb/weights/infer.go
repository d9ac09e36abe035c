package weights

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

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
	LayerNormEps      float64           `json:"layer_norm_eps"`
	HiddenAct         string            `json:"hidden_act"`
	ID2Label          map[string]string `json:"id2label"`

	// timm hub config.
	Architecture   string          `json:"architecture"`
	LabelNames     []string        `json:"label_names"`
	PretrainedCfg  *timmPretrained `json:"pretrained_cfg"`
	ModelArgs      map[string]any  `json:"model_args"`
	preprocessorHF *hfPreprocessor
}

type timmPretrained struct {
	InputSize     []int     `json:"input_size"`
	Mean          []float64 `json:"mean"`
	Std           []float64 `json:"std"`
	CropPct       float64   `json:"crop_pct"`
	Interpolation string    `json:"interpolation"`
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
	if data, err := files.ReadSidecar(path); err == nil {
		if err := json.Unmarshal(data, sc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		sc.path = path
	}
	ppPath := filepath.Join(dir, "preprocessor_config.json")
	if data, err := files.ReadSidecar(ppPath); err == nil {
		pp := &hfPreprocessor{}
		if err := json.Unmarshal(data, pp); err != nil {
			return nil, fmt.Errorf("%s: %w", ppPath, err)
		}
		sc.preprocessorHF = pp
	}
	return sc, nil
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

	// What the sidecar config.json says.
	if sc.path != "" {
		if f == FormatHF {
			if sc.NumAttentionHeads > 0 && cfg.Heads == 0 {
				cfg.Heads, headsFrom = sc.NumAttentionHeads, sc.path
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
		if f == FormatTimm && cfg.Heads == 0 {
			if n, ok := sc.ModelArgs["num_heads"].(float64); ok && n > 0 {
				cfg.Heads, headsFrom = int(n), sc.path+" (model_args)"
			} else if sc.Architecture != "" {
				if p, err := vitnb.Preset(sc.Architecture); err == nil && p.Width == cfg.Width {
					cfg.Heads, headsFrom = p.Heads, fmt.Sprintf("%s (architecture %s)", sc.path, sc.Architecture)
				}
			}
		}
	}

	// Files written by SaveTimm say their heads and GELU in the metadata.
	if meta := src.metadata(); meta != nil {
		if n, err := strconv.Atoi(meta[metaHeads]); err == nil && n > 0 && cfg.Heads == 0 {
			cfg.Heads, headsFrom = n, "the file's metadata"
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
		headsFrom = "preset " + p.Name
	}
	if opts.Heads > 0 {
		cfg.Heads, headsFrom = opts.Heads, "the heads option"
	}
	if cfg.Heads == 0 {
		if h, ok := standardHeads[cfg.Width]; ok {
			cfg.Heads, headsFrom = h, fmt.Sprintf("the standard ViT of width %d", cfg.Width)
		} else {
			return cfg, "", fmt.Errorf("the number of attention heads cannot be read from the %s names and shapes "+
				"(width %d): put the model's config.json beside the file, or give a preset or the number of heads", f, cfg.Width)
		}
	}
	if cfg.Heads <= 0 || cfg.Width%cfg.Heads != 0 {
		return cfg, "", fmt.Errorf("width %d is not divisible by %d heads (from %s)", cfg.Width, cfg.Heads, headsFrom)
	}
	return cfg.WithDefaults(), headsFrom, nil
}
