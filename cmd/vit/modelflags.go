package main

import (
	"flag"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/vitnb/vitnb/vitnb"
)

// modelFlags are the flags that pick a preset and override any field of its configuration. Only flags given on
// the command line override the preset.
type modelFlags struct {
	fs     *flag.FlagSet
	preset string

	imageSize, channels, patch, width, depth, heads, mlp, classes, repr int
	pooling, gelu, dtype                                                string
	dropout, attentionDropout, dropPath, lnEps                          float64
}

// addModelFlags registers the model flags on fs; withPreset adds -preset (commands that take the preset as an
// argument leave it out).
func addModelFlags(fs *flag.FlagSet, withPreset bool) *modelFlags {
	m := &modelFlags{fs: fs}
	if withPreset {
		fs.StringVar(&m.preset, "preset", "tiny32", "model preset: "+strings.Join(vitnb.PresetNames(), ", "))
	}
	fs.IntVar(&m.imageSize, "image-size", 0, "override: image height and width in pixels")
	fs.IntVar(&m.channels, "channels", 0, "override: image channels (3 RGB, 1 grey)")
	fs.IntVar(&m.patch, "patch", 0, "override: patch size")
	fs.IntVar(&m.width, "width", 0, "override: token width (hidden size)")
	fs.IntVar(&m.depth, "depth", 0, "override: number of encoder blocks")
	fs.IntVar(&m.heads, "heads", 0, "override: attention heads")
	fs.IntVar(&m.mlp, "mlp", 0, "override: MLP hidden size")
	fs.IntVar(&m.classes, "classes", 0, "override: number of classes of the head (0 keeps the preset's)")
	fs.IntVar(&m.repr, "repr", 0, "override: pre-logits (representation) size, 0 for none")
	fs.StringVar(&m.pooling, "pooling", "", "override: token (class token) or gap (mean of tokens)")
	fs.StringVar(&m.gelu, "gelu", "", "override: exact (timm, Hugging Face) or tanh (JAX) GELU")
	fs.StringVar(&m.dtype, "dtype", "", "override: float32, bfloat16 or float16")
	fs.Float64Var(&m.dropout, "dropout", 0, "override: dropout rate")
	fs.Float64Var(&m.attentionDropout, "attention-dropout", 0, "override: attention dropout rate")
	fs.Float64Var(&m.dropPath, "drop-path", 0, "override: stochastic depth rate of the last block")
	fs.Float64Var(&m.lnEps, "ln-eps", 0, "override: LayerNorm epsilon (default 1e-6)")
	return m
}

// dtypeNames are the spellings -dtype accepts.
var dtypeNames = map[string]dtypes.DType{
	"float32": dtypes.Float32, "f32": dtypes.Float32,
	"bfloat16": dtypes.BFloat16, "bf16": dtypes.BFloat16,
	"float16": dtypes.Float16, "f16": dtypes.Float16,
}

// config returns the preset with the flags given on the command line applied, validated.
func (m *modelFlags) config() (vitnb.Config, error) {
	cfg, err := vitnb.Preset(m.preset)
	if err != nil {
		return cfg, usageErrorf("%v", err)
	}
	return m.configOn(cfg)
}

// presetGiven tells whether -preset was on the command line.
func (m *modelFlags) presetGiven() bool {
	given := false
	m.fs.Visit(func(f *flag.Flag) { given = given || f.Name == "preset" })
	return given
}

// configOn returns cfg with the flags given on the command line applied, validated.
func (m *modelFlags) configOn(cfg vitnb.Config) (vitnb.Config, error) {
	var ferr error
	m.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "image-size":
			cfg.ImageSize = m.imageSize
		case "channels":
			cfg.Channels = m.channels
		case "patch":
			cfg.PatchSize = m.patch
		case "width":
			cfg.Width = m.width
		case "depth":
			cfg.Depth = m.depth
		case "heads":
			cfg.Heads = m.heads
		case "mlp":
			cfg.MLPDim = m.mlp
		case "classes":
			cfg.NumClasses = m.classes
		case "repr":
			cfg.RepresentationSize = m.repr
		case "pooling":
			cfg.Pooling = vitnb.Pooling(m.pooling)
		case "gelu":
			cfg.GELU = vitnb.GELU(m.gelu)
		case "dtype":
			dt, ok := dtypeNames[strings.ToLower(m.dtype)]
			if !ok {
				ferr = usageErrorf("-dtype %q: want float32, bfloat16 or float16", m.dtype)
			}
			cfg.DType = dt
		case "dropout":
			cfg.Dropout = m.dropout
		case "attention-dropout":
			cfg.AttentionDropout = m.attentionDropout
		case "drop-path":
			cfg.DropPath = m.dropPath
		case "ln-eps":
			cfg.LayerNormEpsilon = m.lnEps
		}
	})
	if ferr != nil {
		return cfg, ferr
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageErrorf("%v", err)
	}
	return cfg, nil
}

// interleave reorders args so that flags may follow positional arguments ("vit params B/16 -classes 10"): it
// returns the flags first, then the positional arguments. A lone "--" ends the flags.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		// A flag that is not boolean takes the next argument as its value.
		if f := fs.Lookup(name); f != nil && i+1 < len(args) {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(append(flags, "--"), positional...)
}
