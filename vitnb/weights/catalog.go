package weights

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// RemoteFile is one file of a published checkpoint.
type RemoteFile struct {
	// Name is the file name in the checkpoint's cache folder ("model.safetensors", "config.json").
	Name string
	// URL to download it from.
	URL string
	// Size in bytes and SHA256 in hex, when known (0 and "": the server's Content-Length and checksum headers
	// are checked instead).
	Size   int64
	SHA256 string
}

// Known is a published checkpoint that `vit weights get` can download.
type Known struct {
	// Name is the short name used on the command line ("ViT-B_16-i21k", "hf/vit-base-patch16-224").
	Name string
	// Format of the weights.
	Format Format
	// Preset is the vitnb preset of its architecture.
	Preset string
	// Description says what it was trained on and at which resolution.
	Description string
	// Files to download; the first is the weights file.
	Files []RemoteFile
}

// WeightsFile returns the path of the weights file in the cache folder dir.
func (k Known) WeightsFile(dir string) string {
	return filepath.Join(CheckpointDir(dir, k.Name), k.Files[0].Name)
}

const (
	googleBucket = "https://storage.googleapis.com/vit_models/"
	huggingFace  = "https://huggingface.co/"
)

// catalog lists the checkpoints of google-research/vision_transformer's README, Hugging Face's google/vit-*
// and timm's augreg ViTs. Sizes and checksums are not pinned here (they could not be verified offline when
// this list was written); Download checks the server's Content-Length and checksum headers instead.
var catalog = func() []Known {
	var list []Known
	google := func(name, preset, object, desc string) {
		list = append(list, Known{Name: name, Format: FormatGoogle, Preset: preset, Description: desc,
			Files: []RemoteFile{{Name: filepath.Base(object), URL: googleBucket + object}}})
	}
	for _, m := range []struct{ size, preset string }{{"B_16", "B/16"}, {"B_32", "B/32"}, {"L_16", "L/16"}, {"L_32", "L/32"}, {"H_14", "H/14"}} {
		google("ViT-"+m.size+"-i21k", m.preset, "imagenet21k/ViT-"+m.size+".npz",
			"ImageNet-21k pre-training, 224, pre_logits + 21843-class head (the paper's release)")
	}
	for _, m := range []struct{ size, preset string }{{"B_16", "B/16"}, {"B_32", "B/32"}, {"L_16", "L/16"}, {"L_32", "L/32"}} {
		google("ViT-"+m.size+"-i21k-i1k-384", m.preset, "imagenet21k+imagenet2012/ViT-"+m.size+".npz",
			"ImageNet-21k, fine-tuned on ImageNet-1k at 384 (the paper's Table 2 setting)")
		google("ViT-"+m.size+"-i21k-i1k-224", m.preset, "imagenet21k+imagenet2012/ViT-"+m.size+"-224.npz",
			"ImageNet-21k, fine-tuned on ImageNet-1k at 224")
	}
	google("augreg-Ti_16-i21k-i1k-224", "Ti/16",
		"augreg/Ti_16-i21k-300ep-lr_0.001-aug_none-wd_0.03-do_0.0-sd_0.0--imagenet2012-steps_20k-lr_0.03-res_224.npz",
		"How to train your ViT (AugReg): ImageNet-21k 300 epochs, fine-tuned on ImageNet-1k at 224")
	google("augreg-S_16-i21k-i1k-224", "S/16",
		"augreg/S_16-i21k-300ep-lr_0.001-aug_light1-wd_0.03-do_0.0-sd_0.0--imagenet2012-steps_20k-lr_0.03-res_224.npz",
		"AugReg: ImageNet-21k 300 epochs, fine-tuned on ImageNet-1k at 224")
	google("augreg-B_16-i21k-i1k-224", "B/16",
		"augreg/B_16-i21k-300ep-lr_0.001-aug_medium1-wd_0.1-do_0.0-sd_0.0--imagenet2012-steps_20k-lr_0.01-res_224.npz",
		"AugReg: ImageNet-21k 300 epochs, fine-tuned on ImageNet-1k at 224")
	google("augreg-B_16-i21k", "B/16", "augreg/B_16-i21k-300ep-lr_0.001-aug_medium1-wd_0.1-do_0.0-sd_0.0.npz",
		"AugReg: ImageNet-21k 300 epochs, 224, 21843-class head")

	hf := func(repo, preset, desc string) {
		base := huggingFace + repo + "/resolve/main/"
		list = append(list, Known{Name: "hf/" + strings.TrimPrefix(repo, "google/"), Format: FormatHF, Preset: preset,
			Description: desc, Files: []RemoteFile{
				{Name: "model.safetensors", URL: base + "model.safetensors"},
				{Name: "config.json", URL: base + "config.json"},
				{Name: "preprocessor_config.json", URL: base + "preprocessor_config.json"},
			}})
	}
	hf("google/vit-base-patch16-224", "B/16", "Hugging Face port of ViT-B/16 i21k+i1k at 224 (1000 classes)")
	hf("google/vit-base-patch16-384", "B/16", "Hugging Face port of ViT-B/16 i21k+i1k at 384 (1000 classes)")
	hf("google/vit-base-patch32-384", "B/32", "Hugging Face port of ViT-B/32 i21k+i1k at 384 (1000 classes)")
	hf("google/vit-large-patch16-224", "L/16", "Hugging Face port of ViT-L/16 i21k+i1k at 224 (1000 classes)")
	hf("google/vit-base-patch16-224-in21k", "B/16", "Hugging Face port of ViT-B/16 i21k (ViTModel with pooler, no head)")

	timm := func(name, preset, desc string) {
		base := huggingFace + "timm/" + name + "/resolve/main/"
		list = append(list, Known{Name: "timm/" + name, Format: FormatTimm, Preset: preset, Description: desc,
			Files: []RemoteFile{{Name: "model.safetensors", URL: base + "model.safetensors"}, {Name: "config.json", URL: base + "config.json"}}})
	}
	timm("vit_tiny_patch16_224.augreg_in21k_ft_in1k", "Ti/16", "timm port of AugReg Ti/16 i21k+i1k at 224")
	timm("vit_small_patch16_224.augreg_in21k_ft_in1k", "S/16", "timm port of AugReg S/16 i21k+i1k at 224")
	timm("vit_base_patch16_224.augreg_in21k_ft_in1k", "B/16", "timm port of AugReg B/16 i21k+i1k at 224")
	timm("vit_base_patch16_224.augreg2_in21k_ft_in1k", "B/16", "timm's own fine-tune (augreg2) of AugReg B/16 at 224")
	timm("vit_large_patch16_224.augreg_in21k_ft_in1k", "L/16", "timm port of AugReg L/16 i21k+i1k at 224")
	sort.SliceStable(list, func(i, j int) bool { return list[i].Format < list[j].Format })
	return list
}()

// Catalog returns the known checkpoints.
func Catalog() []Known { return append([]Known(nil), catalog...) }

// Lookup returns the known checkpoint of that name (case-insensitive).
func Lookup(name string) (Known, error) {
	for _, k := range catalog {
		if strings.EqualFold(k.Name, name) {
			return k, nil
		}
	}
	names := make([]string, len(catalog))
	for i, k := range catalog {
		names[i] = k.Name
	}
	return Known{}, fmt.Errorf("unknown checkpoint %q; known: %s", name, strings.Join(names, ", "))
}

// CacheDir returns the folder where downloaded checkpoints live: $VITNB_WEIGHTS_DIR if set, else
// vitnb/weights in the user's cache folder (~/.cache on Linux).
func CacheDir() (string, error) {
	if d := os.Getenv("VITNB_WEIGHTS_DIR"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder (%w): set VITNB_WEIGHTS_DIR", err)
	}
	return filepath.Join(base, "vitnb", "weights"), nil
}

// CheckpointDir is the folder of one checkpoint in the cache ("/" in names becomes "--").
func CheckpointDir(cacheDir, name string) string {
	return filepath.Join(cacheDir, strings.ReplaceAll(name, "/", "--"))
}

// Get downloads every file of a known checkpoint into its folder under cacheDir (files already there are
// kept) and returns the path of the weights file. baseURL, if not "", replaces the scheme and host of the URLs
// (a mirror). Optional files (preprocessor_config.json) that the server does not have are skipped. When a
// download fails the error says where to put the file by hand.
func Get(ctx context.Context, k Known, cacheDir, baseURL string, client *http.Client, progress io.Writer) (string, error) {
	dir := CheckpointDir(cacheDir, k.Name)
	for i, f := range k.Files {
		dest := filepath.Join(dir, f.Name)
		if _, err := os.Stat(dest); err == nil {
			continue
		}
		url := f.URL
		if baseURL != "" {
			for _, host := range []string{googleBucket[:len("https://storage.googleapis.com")], huggingFace[:len("https://huggingface.co")]} {
				if strings.HasPrefix(url, host) {
					url = strings.TrimRight(baseURL, "/") + strings.TrimPrefix(url, host)
				}
			}
		}
		err := Download(ctx, url, dest, DownloadOptions{Client: client, Progress: progress, Label: k.Name + "/" + f.Name,
			Size: f.Size, SHA256: f.SHA256})
		if err != nil {
			if i > 0 && f.Name == "preprocessor_config.json" && strings.Contains(err.Error(), "404") {
				continue
			}
			return "", fmt.Errorf("%w\nOffline or blocked? Download %s elsewhere and put it at %s by hand (vit predict -weights also takes any file path)", err, f.URL, dest)
		}
	}
	return k.WeightsFile(cacheDir), nil
}
