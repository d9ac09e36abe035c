package weights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vitnb/vitnb/vitnb/files"
)

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
	Files []files.RemoteFile
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
// and timm's augreg ViTs. No size or SHA-256 of these files is pinned: the project has never had them from a
// source it could check (it runs offline), and an invented one would refuse the real file. A download is checked
// against the server's Content-Length and checksum headers (Hugging Face's X-Linked-Etag is the file's SHA-256,
// Google Cloud Storage's x-goog-hash its MD5) and its format in full (checkWeights: the safetensors or npz index
// against the file's size; checkJSON), before it is renamed into place and again, cheaply, when read from the
// cache.
var catalog = func() []Known {
	var list []Known
	google := func(name, preset, object, desc string) {
		list = append(list, Known{Name: name, Format: FormatGoogle, Preset: preset, Description: desc,
			Files: []files.RemoteFile{weightsFile(filepath.Base(object), googleBucket+object)}})
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
			Description: desc, Files: []files.RemoteFile{
				weightsFile("model.safetensors", base+"model.safetensors"),
				jsonFile("config.json", base+"config.json", false),
				jsonFile("preprocessor_config.json", base+"preprocessor_config.json", true),
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
			Files: []files.RemoteFile{weightsFile("model.safetensors", base+"model.safetensors"),
				jsonFile("config.json", base+"config.json", false)}})
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

// CheckpointDir is the folder of one checkpoint in the cache ("/" in names becomes "--").
func CheckpointDir(cacheDir, name string) string {
	return filepath.Join(cacheDir, strings.ReplaceAll(name, "/", "--"))
}

// weightsFile is a published weights file, checked in full (its index against its size) when it arrives.
func weightsFile(name, url string) files.RemoteFile {
	return files.RemoteFile{Name: name, URL: url, Check: checkWeights}
}

// jsonFile is a published JSON sidecar (config.json, preprocessor_config.json).
func jsonFile(name, url string, optional bool) files.RemoteFile {
	return files.RemoteFile{Name: name, URL: url, Optional: optional, Check: checkJSON, MaxSize: files.MaxSidecarSize}
}

// checkWeights checks the format of a weights file in full without reading its tensors: an .npz's zip directory
// and every .npy header against the entries' sizes, or a safetensors header against the file's size.
func checkWeights(path string) error {
	src, _, err := openSource(path)
	if err != nil {
		return err
	}
	return src.close()
}

// checkJSON checks that a sidecar file is one JSON value of sensible size (files.ReadSidecar).
func checkJSON(path string) error {
	data, err := files.ReadSidecar(path)
	if err != nil {
		return err
	}
	if !json.Valid(data) {
		return errors.New("not valid JSON")
	}
	return nil
}

// Get makes every file of a known checkpoint available in its folder under cacheDir ("" for files.WeightsDir())
// and returns the path of the weights file. Files already there are checked again cheaply (files.CheckCached); a
// bad one is downloaded again, saying so on progress. Missing files are downloaded (resumed, verified before
// the rename, see files.Downloader); baseURL, if not "", replaces the scheme and host of the URLs (a mirror).
// Optional files (preprocessor_config.json) that the server does not have are skipped. When a download fails the
// error says where to put the file by hand.
func Get(ctx context.Context, k Known, cacheDir, baseURL string, client *http.Client, progress io.Writer) (string, error) {
	if len(k.Files) == 0 {
		return "", fmt.Errorf("checkpoint %q lists no files", k.Name)
	}
	for _, f := range k.Files {
		if f.Name == "" || f.Name == "." || f.Name == ".." || filepath.Base(f.Name) != f.Name {
			return "", fmt.Errorf("checkpoint %q: file name %q is not a plain file name", k.Name, f.Name)
		}
	}
	if cacheDir == "" {
		cacheDir = files.WeightsDir()
	}
	dir := CheckpointDir(cacheDir, k.Name)
	if err := files.CheckCache(dir); err != nil {
		return "", err
	}
	for _, f := range k.Files {
		dest := filepath.Join(dir, f.Name)
		if _, err := os.Stat(dest); err == nil {
			err := files.CheckCached(dest, f)
			if err == nil {
				continue
			}
			if !errors.Is(err, files.ErrMismatch) {
				return "", err
			}
			if progress != nil {
				fmt.Fprintf(progress, "%v: downloading it again\n", err)
			}
			if err := os.Remove(dest); err != nil {
				return "", fmt.Errorf("removing the bad %s: %w", dest, err)
			}
		}
		url := f.URL
		if baseURL != "" {
			for _, host := range []string{googleBucket[:len("https://storage.googleapis.com")], huggingFace[:len("https://huggingface.co")]} {
				if strings.HasPrefix(url, host) {
					url = strings.TrimRight(baseURL, "/") + strings.TrimPrefix(url, host)
				}
			}
		}
		d := &files.Downloader{Client: client, Progress: progress, Label: k.Name + "/" + f.Name}
		if err := d.Download(ctx, url, dest, f); err != nil {
			if f.Optional && strings.Contains(err.Error(), "404") {
				continue
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, files.ErrMismatch) {
				return "", err
			}
			return "", fmt.Errorf("%w. Offline or blocked? Download %s elsewhere and put it at %s by hand (vit predict -weights also takes any file path)", err, f.URL, dest)
		}
	}
	return k.WeightsFile(cacheDir), nil
}

// CatalogEntry is a known checkpoint with where it lies in a cache folder and whether it is there.
type CatalogEntry struct {
	Known
	Path       string `json:"path"`
	Downloaded bool   `json:"downloaded"`
}

// CatalogIn lists the known checkpoints with their state in the cache folder cache (`vit weights list`).
func CatalogIn(cache string) []CatalogEntry {
	var list []CatalogEntry
	for _, k := range Catalog() {
		e := CatalogEntry{Known: k, Path: k.WeightsFile(cache)}
		_, err := os.Stat(e.Path)
		e.Downloaded = err == nil
		list = append(list, e)
	}
	return list
}

// WriteCatalog writes the known checkpoints as `vit weights list` prints them: for each its name, format,
// preset, description and whether it is in the cache folder cache, then its URL on a line of its own; last,
// the cache folder. With asJSON, it writes the entries (CatalogIn) as one indented JSON array instead.
func WriteCatalog(w io.Writer, cache string, asJSON bool) error {
	if w == nil {
		return errors.New("writing the catalog: no writer (nil)")
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(CatalogIn(cache))
	}
	for _, e := range CatalogIn(cache) {
		state := ""
		if e.Downloaded {
			state = "  [downloaded: " + e.Path + "]"
		}
		if _, err := fmt.Fprintf(w, "%-48s %-6s %-5s %s%s\n    %s\n", e.Name, e.Format, e.Preset, e.Description, state,
			e.Files[0].URL); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\ncache: %s\n", cache)
	return err
}
