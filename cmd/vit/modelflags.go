package main

import (
	"flag"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/vitnb/vitnb/vitnb"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// modelFlags are the flags that pick a preset and override any field of its configuration (modelFields). Only
// flags given on the command line override the preset.
type modelFlags struct {
	fs     *flag.FlagSet
	preset string
	// given holds the values of the model flags, in the fields of a vitnb.Config.
	given vitnb.Config
}

// modelFields maps each model flag to the field of vitnb.Config it overrides.
var modelFields = []struct{ flag, field, usage string }{
	{"image-size", "ImageSize", "image height and width in pixels"},
	{"channels", "Channels", "image channels (3 RGB, 1 grey)"},
	{"patch", "PatchSize", "patch size"},
	{"width", "Width", "token width (hidden size)"},
	{"depth", "Depth", "number of encoder blocks"},
	{"heads", "Heads", "attention heads"},
	{"mlp", "MLPDim", "MLP hidden size"},
	{"classes", "NumClasses", "number of classes of the head (0 keeps the preset's or the weights file's)"},
	{"repr", "RepresentationSize", "pre-logits (representation) size, 0 for none"},
	{"pooling", "Pooling", "token (class token) or gap (mean of tokens)"},
	{"gelu", "GELU", "exact (timm, Hugging Face) or tanh (JAX) GELU"},
	{"dtype", "DType", "float32, bfloat16 or float16"},
	{"dropout", "Dropout", "dropout rate"},
	{"attention-dropout", "AttentionDropout", "attention dropout rate"},
	{"drop-path", "DropPath", "stochastic depth rate of the last block"},
	{"ln-eps", "LayerNormEpsilon", "LayerNorm epsilon (default 1e-6)"},
}

// addModelFlags registers the model flags on fs; withPreset adds -preset (commands that take the preset as an
// argument leave it out).
func addModelFlags(fs *flag.FlagSet, withPreset bool) *modelFlags {
	m := &modelFlags{fs: fs}
	if withPreset {
		fs.StringVar(&m.preset, "preset", "tiny32", "model preset: "+strings.Join(vitnb.PresetNames(), ", "))
	}
	cfg := reflect.ValueOf(&m.given).Elem()
	for _, f := range modelFields {
		fs.Var(fieldValue{cfg.FieldByName(f.field)}, f.flag, "override: "+f.usage)
	}
	return m
}

// fieldValue is a flag.Value that parses into a field of vitnb.Config.
type fieldValue struct{ v reflect.Value }

func (f fieldValue) String() string {
	if !f.v.IsValid() || f.v.IsZero() {
		return ""
	}
	return fmt.Sprint(f.v.Interface())
}

func (f fieldValue) Set(s string) error {
	switch f.v.Interface().(type) {
	case dtypes.DType:
		dt := dtypes.MapOfNames[strings.ToLower(s)] // float32, f32, bfloat16, bf16, float16, f16 among others
		if dt != dtypes.Float32 && dt != dtypes.BFloat16 && dt != dtypes.Float16 {
			return fmt.Errorf("want float32, bfloat16 or float16")
		}
		f.v.Set(reflect.ValueOf(dt))
		return nil
	}
	switch f.v.Kind() {
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("want a whole number >= 0")
		}
		f.v.SetInt(int64(n))
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || x < 0 || math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Errorf("want a finite number >= 0")
		}
		f.v.SetFloat(x)
	default:
		f.v.SetString(s)
	}
	return nil
}

// config returns the preset with the flags given on the command line applied, validated.
func (m *modelFlags) config() (vitnb.Config, error) {
	cfg, err := vitnb.Preset(m.preset)
	if err != nil {
		return cfg, usageErrorf("%v", err)
	}
	return m.configOn(cfg)
}

// isGiven tells whether the flag name was on the command line.
func (m *modelFlags) isGiven(name string) bool {
	given := false
	m.fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// configOn returns cfg with the flags given on the command line applied, validated.
func (m *modelFlags) configOn(cfg vitnb.Config) (vitnb.Config, error) {
	dst, src := reflect.ValueOf(&cfg).Elem(), reflect.ValueOf(m.given)
	for _, f := range modelFields {
		if v := src.FieldByName(f.field); m.isGiven(f.flag) && (f.flag != "classes" || !v.IsZero()) { // -classes 0 keeps
			dst.FieldByName(f.field).Set(v)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageErrorf("%v", err)
	}
	return cfg, nil
}

// weightsOptions turns the model flags given with -weights into loading options: -preset and -heads check or
// complete the architecture, -classes resets the head, -image-size resamples the position embeddings, -gelu,
// -dtype and -ln-eps override the format's. Flags that would change the architecture itself are usage errors.
func (m *modelFlags) weightsOptions(interp string) (weights.Options, error) {
	g := m.given
	opts := weights.Options{Interpolation: weights.Interpolation(interp), Heads: g.Heads, NumClasses: g.NumClasses,
		ImageSize: g.ImageSize, GELU: g.GELU, DType: g.DType, LayerNormEpsilon: g.LayerNormEpsilon}
	if m.isGiven("preset") {
		opts.Preset = m.preset
	}
	if err := opts.Validate(); err != nil {
		return opts, usageErrorf("%v", err)
	}
	return opts, m.only("-weights", "preset", "heads", "classes", "image-size", "gelu", "dtype", "ln-eps")
}

// only refuses the model flags given but those named: source (-weights, -dir) gives the architecture, not they.
func (m *modelFlags) only(source string, used ...string) error {
	for _, f := range append(modelFields, struct{ flag, field, usage string }{flag: "preset"}) {
		if m.isGiven(f.flag) && !slices.Contains(used, f.flag) {
			return usageErrorf("-%s cannot be combined with %s: the architecture comes from %s (it takes %d model flags: %s)",
				f.flag, source, strings.TrimPrefix(source, "-"), len(used), strings.Join(used, " "))
		}
	}
	return nil
}

// flagValue returns the value args give to the flag name of fs ("" if none), before parsing: for flags whose value
// sets the defaults of others (-recipe).
func flagValue(fs *flag.FlagSet, args []string, name string) string {
	args = interleave(fs, args)
	for i, a := range args {
		if a == "--" {
			break
		}
		n, v, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && n == name {
			if hasValue {
				return v
			}
			if i+1 < len(args) {
				return args[i+1]
			}
		}
	}
	return ""
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
	if len(positional) == 0 { // a trailing "--" would be the value of a last flag given without one
		return flags
	}
	return append(append(flags, "--"), positional...)
}
