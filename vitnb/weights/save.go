package weights

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/weights/safetensors"
)

// Metadata keys SaveTimm writes next to "format": "pt", so that Load knows the architecture of the file
// without a config.json.
const (
	metaHeads  = "vitnb.heads"
	metaGELU   = "vitnb.gelu"
	metaConfig = "vitnb.config"
)

// SaveTimm writes the variables of a vitnb model of config cfg, found in store under scopePath ("/" for the root
// scope), to a safetensors file in timm's VisionTransformer naming and layout (float32), so that
//
//	model = timm.create_model("vit_base_patch16_224", num_classes=N)  # same architecture as cfg
//	model.load_state_dict(safetensors.torch.load_file(path))
//
// loads it (a model with tanh GELU needs act_layer=partial(nn.GELU, approximate="tanh") in timm). A
// pre_logits layer is written as "pre_logits.fc", which current timm versions no longer have. The file is
// written atomically; each tensor is converted while it is written.
func SaveTimm(path string, store *model.Store, scopePath string, cfg vitnb.Config) error {
	if store == nil {
		return fmt.Errorf("saving %s: no store of variables to save (nil *model.Store)", path)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	prefix := "/" + strings.Trim(scopePath, "/")
	if prefix != "/" {
		prefix += "/"
	}
	shapes := cfg.VariableShapes()
	get := func(name string) ([]float32, error) {
		v := store.GetVariable(prefix + name)
		if v == nil {
			return nil, fmt.Errorf("variable %s%s not in the store", prefix, name)
		}
		if !slices.Equal(v.Shape().Dimensions, shapes[name]) {
			return nil, fmt.Errorf("variable %s%s has shape %v, config %s needs %v", prefix, name, v.Shape().Dimensions, cfg.Name, shapes[name])
		}
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("variable %s%s: %w", prefix, name, err)
		}
		return tensorToFloat32(t)
	}
	// Check every variable before writing.
	for name := range shapes {
		v := store.GetVariable(prefix + name)
		if v == nil {
			return fmt.Errorf("%s: variable %s%s not in the store", path, prefix, name)
		}
		if !slices.Equal(v.Shape().Dimensions, shapes[name]) {
			return fmt.Errorf("%s: variable %s%s has shape %v, config needs %v", path, prefix, name, v.Shape().Dimensions, shapes[name])
		}
	}

	// The name table gives every tensor; timm's query, key and value are stacked in one.
	var list []safetensors.Tensor
	parts := map[string][]tensorName{}
	var order []string
	for _, n := range nameTable(cfg) {
		if _, seen := parts[n.timm]; !seen {
			order = append(order, n.timm)
		}
		parts[n.timm] = append(parts[n.timm], n)
	}
	for _, key := range order {
		ns := parts[key]
		dims := ns[0].fileDims(FormatTimm)
		list = append(list, safetensors.Tensor{Name: key, DType: dtypes.Float32, Shape: dims, WriteData: func(w io.Writer) error {
			var data []float32
			for _, n := range ns {
				v, err := get(n.vitnb)
				if err != nil {
					return err
				}
				if part := n.fromVariable(v); len(ns) == 1 {
					data = part
				} else {
					data = append(data, part...)
				}
			}
			return safetensors.Float32Tensor(key, data, dims...).WriteData(w)
		}})
	}
	meta := map[string]string{
		"format":   "pt",
		metaHeads:  strconv.Itoa(cfg.Heads),
		metaGELU:   string(cfg.GELU),
		metaConfig: cfg.String(),
	}
	if err := safetensors.WriteFile(path, list, meta); err != nil {
		if !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return err
	}
	return nil
}

// WriteTimmConfig writes a timm hub config.json for a model saved with SaveTimm: "architecture" (the timm name
// of the nearest standard model), "model_args" with the exact sizes (so timm.create_model builds the same
// architecture), "num_classes" and "pretrained_cfg" with the preprocessing (input size, mean, std,
// interpolation, crop), and the class names as "label_names" (timm's key) when there is one for each class. Load
// reads it back when it lies beside the weights as config.json.
func WriteTimmConfig(path string, cfg vitnb.Config, pre Preprocessing, labels []string) error {
	if len(labels) > 0 && len(labels) != cfg.NumClasses {
		return fmt.Errorf("%s: %d class names for a head of %d classes", path, len(labels), cfg.NumClasses)
	}
	// A registered timm name: the exact one for the standard sizes, else the same width's patch-16 model (or
	// base), which model_args then reshape.
	sizeName := map[int]string{192: "tiny", 384: "small", 768: "base", 1024: "large"}[cfg.Width]
	arch := "vit_base_patch16_224"
	if cfg.Width == 1280 {
		arch = "vit_huge_patch14_224"
	} else if sizeName != "" {
		arch = fmt.Sprintf("vit_%s_patch16_224", sizeName)
		if (cfg.PatchSize == 16 || (cfg.PatchSize == 32 && sizeName != "tiny")) && (cfg.ImageSize == 224 || cfg.ImageSize == 384) {
			arch = fmt.Sprintf("vit_%s_patch%d_%d", sizeName, cfg.PatchSize, cfg.ImageSize)
		}
	}
	pool := "token"
	if cfg.Pooling == vitnb.PoolMean {
		pool = "avg"
	}
	interp := pre.Resize
	if interp == "" {
		interp = "bicubic"
	}
	doc := map[string]any{
		"architecture": arch,
		"num_classes":  cfg.NumClasses,
		"num_features": cfg.Width,
		"global_pool":  pool,
		"model_args": map[string]any{
			"img_size": cfg.ImageSize, "patch_size": cfg.PatchSize, "in_chans": cfg.Channels,
			"embed_dim": cfg.Width, "depth": cfg.Depth, "num_heads": cfg.Heads,
			"mlp_ratio": float64(cfg.MLPDim) / float64(cfg.Width), "class_token": cfg.Pooling == vitnb.PoolToken,
			"global_pool": pool, "fc_norm": false, "num_classes": cfg.NumClasses,
		},
		"pretrained_cfg": map[string]any{
			"input_size": []int{cfg.Channels, cfg.ImageSize, cfg.ImageSize}, "mean": pre.Mean, "std": pre.Std,
			"interpolation": interp, "crop_pct": pre.CropPct, "num_classes": cfg.NumClasses,
		},
	}
	if len(labels) > 0 {
		doc["label_names"] = labels
	}
	return files.WriteJSON(path, doc)
}

// TimmNotes says, in parentheses, what a timm user must set to build the model of cfg that SaveTimm wrote, where
// it differs from timm's defaults ("" when nothing).
func TimmNotes(cfg vitnb.Config) string {
	note := ""
	if cfg.GELU == vitnb.GELUTanh {
		note = " (tanh GELU: build the timm model with act_layer=partial(nn.GELU, approximate=\"tanh\"))"
	}
	if cfg.LayerNormEpsilon != 1e-6 {
		note += fmt.Sprintf(" (LayerNorm epsilon %g, timm's default is 1e-6)", cfg.LayerNormEpsilon)
	}
	return note
}

// Convert loads the weights file in (any format Load reads, with opts) and saves it at out in timm's naming
// (SaveTimm); with configPath, it also writes a timm hub config.json there (WriteTimmConfig: as config.json
// beside out, Load and timm read it back). It returns what `vit weights convert` says: "wrote OUT:
// ARCHITECTURE", and what a timm user must set (TimmNotes).
func Convert(in, out, configPath string, opts Options) (string, error) {
	store, info, err := Load(in, opts)
	if err != nil {
		return "", err
	}
	defer store.Finalize()
	if err := SaveTimm(out, store, "/", info.Config); err != nil {
		return "", err
	}
	if configPath != "" {
		if err := WriteTimmConfig(configPath, info.Config, info.Preprocessing, info.Labels); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("wrote %s: %s%s", out, strings.TrimPrefix(info.Config.String(), "ViT "), TimmNotes(info.Config)), nil
}
