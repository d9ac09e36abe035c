package vitnb

import (
	"fmt"
	"sort"
	"strings"
)

// Model sizes of the paper's Table 1 (Base, Large, Huge) and of "How to train your ViT?" (Steiner et al., 2021)
// and DeiT (Ti, S), as registered in google-research/vision_transformer vit_jax/configs/models.py.
var sizes = map[string]struct{ width, depth, heads, mlp int }{
	"Ti": {192, 12, 3, 768},
	"S":  {384, 12, 6, 1536},
	"B":  {768, 12, 12, 3072},
	"L":  {1024, 24, 16, 4096},
	"H":  {1280, 32, 16, 5120},
}

// presets holds every named configuration. The paper-sized ones are 224x224x3 with a 1000-class head (the
// parameter counts of vit_jax/models_test.py); the small ones are for 28x28 grey and 32x32 colour images on a
// CPU.
var presets = map[string]Config{}

func init() {
	// Size/patch pairs that have public checkpoints in Google's vit_models bucket or timm's zoo.
	for _, name := range []string{
		"Ti/16", "Ti/32",
		"S/32", "S/16", "S/8",
		"B/32", "B/16", "B/8",
		"L/32", "L/16", "L/14",
		"H/14",
	} {
		var size string
		var patch int
		if _, err := fmt.Sscanf(strings.Replace(name, "/", " ", 1), "%s %d", &size, &patch); err != nil {
			panic(err)
		}
		s := sizes[size]
		presets[name] = Config{
			Name: name, ImageSize: 224, Channels: 3, PatchSize: patch,
			Width: s.width, Depth: s.depth, Heads: s.heads, MLPDim: s.mlp,
			NumClasses: 1000, Pooling: PoolToken,
		}.WithDefaults()
	}

	// Small models for MNIST-sized (28x28x1) and CIFAR-sized (32x32x3) images, trained from scratch on a CPU.
	// Patch 4 as the public small-ViT CIFAR tutorials (DESIGN.md section 7); tiny32 is the ViT-Ti-like model
	// of the benchmarks (width 192, depth 6, heads 3).
	small := []Config{
		{Name: "micro28", ImageSize: 28, Channels: 1, PatchSize: 4, Width: 64, Depth: 4, Heads: 4, MLPDim: 128},
		{Name: "tiny28", ImageSize: 28, Channels: 1, PatchSize: 4, Width: 128, Depth: 6, Heads: 4, MLPDim: 256},
		{Name: "micro32", ImageSize: 32, Channels: 3, PatchSize: 4, Width: 64, Depth: 4, Heads: 4, MLPDim: 128},
		{Name: "tiny32", ImageSize: 32, Channels: 3, PatchSize: 4, Width: 192, Depth: 6, Heads: 3, MLPDim: 768},
	}
	for _, c := range small {
		c.NumClasses = 10
		presets[c.Name] = c.WithDefaults()
	}
}

// Preset returns the named configuration. Names are "SIZE/PATCH" for the paper's models (Ti, S, B, L, H with
// patch 32, 16, 14 or 8, e.g. "B/16"; "ViT-B/16", "ViT-B_16" and "vit_base_patch16_224" style names are
// accepted too) or the name of a small model ("micro28", "tiny28", "micro32", "tiny32").
func Preset(name string) (Config, error) {
	if c, ok := presets[canonicalPresetName(name)]; ok {
		return c, nil
	}
	return Config{}, fmt.Errorf("unknown preset %q; known presets: %s", name, strings.Join(PresetNames(), ", "))
}

// PresetNames lists the names of all presets, paper models first, by size then patch.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for name := range presets {
		names = append(names, name)
	}
	order := map[string]int{"Ti": 0, "S": 1, "B": 2, "L": 3, "H": 4}
	sort.Slice(names, func(i, j int) bool {
		a, b := presets[names[i]], presets[names[j]]
		ra, aPaper := order[strings.Split(a.Name, "/")[0]]
		rb, bPaper := order[strings.Split(b.Name, "/")[0]]
		if aPaper != bPaper {
			return aPaper
		}
		if ra != rb {
			return ra < rb
		}
		if a.ImageSize != b.ImageSize {
			return a.ImageSize < b.ImageSize
		}
		if a.Width != b.Width {
			return a.Width < b.Width
		}
		return a.PatchSize > b.PatchSize
	})
	return names
}

// canonicalPresetName maps the spellings used by the paper ("ViT-B/16"), Google's checkpoints ("ViT-B_16") and
// timm ("vit_base_patch16_224") to the preset names ("B/16").
func canonicalPresetName(name string) string {
	n := strings.TrimSpace(name)
	if _, ok := presets[n]; ok {
		return n
	}
	lower := strings.ToLower(n)
	timmSizes := map[string]string{"tiny": "Ti", "small": "S", "base": "B", "large": "L", "huge": "H"}
	if strings.HasPrefix(lower, "vit_") {
		// timm: vit_{size}_patch{P}_{resolution}[.tag]
		parts := strings.Split(strings.SplitN(lower, ".", 2)[0], "_")
		if len(parts) >= 3 && strings.HasPrefix(parts[2], "patch") {
			if size, ok := timmSizes[parts[1]]; ok {
				return size + "/" + strings.TrimPrefix(parts[2], "patch")
			}
		}
	}
	n = strings.TrimPrefix(strings.TrimPrefix(n, "ViT-"), "vit-")
	n = strings.Replace(n, "_", "/", 1)
	if strings.HasPrefix(strings.ToLower(n), "ti/") {
		n = "Ti" + n[2:]
	} else if len(n) > 0 {
		n = strings.ToUpper(n[:1]) + n[1:]
	}
	return n
}
