package nb

import (
	"context"
	"fmt"
	"html"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/janpfeifer/gonb/gonbui/protocol"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/classifier"
	"github.com/vitnb/vitnb/vitnb/notebook"
	"github.com/vitnb/vitnb/vitnb/viz"
	"github.com/vitnb/vitnb/vitnb/weights"
)

// PretrainedEnv names the checkpoint (a file, a catalog name or hf:ORG/NAME) that the notebooks' sections on
// public weights use instead of PublicViT; tests point it at a small random checkpoint in the same format.
const PretrainedEnv = "VITNB_PRETRAINED"

// PublicViT is the checkpoint those sections look for: ViT-B/16 pretrained on ImageNet-21k and fine-tuned on
// ImageNet-1k at 224x224 (the paper's release, converted by Hugging Face), with its 1,000 labels.
const PublicViT = "hf:google/vit-base-patch16-224"

// Pretrained returns the public checkpoint the notebooks analyse: $VITNB_PRETRAINED when set, else PublicViT
// when it is already in the Hugging Face cache (nothing is downloaded). When neither is at hand it prints one
// line on how to get it and returns nil, so that a notebook skips the section without an error.
func Pretrained(b compute.Backend) (*classifier.Classifier, error) {
	name := strings.TrimSpace(os.Getenv(PretrainedEnv))
	if name == "" {
		if _, err := weights.Resolve(context.Background(), PublicViT, weights.ResolveOptions{Offline: true}); err != nil {
			// notebook.SkippedNote tells `vit notebook check` that the section's pictures are missing on purpose.
			fmt.Printf("no public ViT-B/16 at hand, %s: `vit weights get %s` downloads it "+
				"(350 MB, into the Hugging Face cache), or set $%s to a checkpoint file\n", notebook.SkippedNote, PublicViT,
				PretrainedEnv)
			return nil, nil
		}
		name = PublicViT
	}
	c, err := classifier.Load(b, name, weights.Options{})
	if err != nil {
		return nil, fmt.Errorf("nb: loading the pretrained checkpoint %s ($%s or %s): %w", name, PretrainedEnv, PublicViT, err)
	}
	fmt.Printf("pretrained: %s\n%s; %s\n", name, c.Config, c.Preprocessing)
	return c, nil
}

// Photos returns the paths of the image files in a folder, sorted by name: in the notebooks "images", the
// colour photos beside them (see images/README.md for their sources and licences). A relative folder is taken
// from the notebook's folder ($GONB_DIR) in a notebook, else from the working directory.
func Photos(dir string) ([]string, error) {
	if nbDir := os.Getenv(protocol.GONB_DIR_ENV); nbDir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(nbDir, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("nb: the photos: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if !e.IsDir() && datasets.IsImageFile(e.Name()) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("nb: no image files in %s", dir)
	}
	return paths, nil
}

// ShowPredictions displays each image file beside its top classes with their probabilities (an HTML table, the
// pictures embedded as PNG, so that the stored notebook shows them). Outside a notebook it prints them.
func ShowPredictions(paths []string, preds []classifier.Prediction) {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse">`)
	for i, p := range preds {
		var cell string
		if i < len(paths) {
			if img, err := thumbnail(paths[i], 160); err == nil {
				cell = imgHTML(img)
			}
		}
		fmt.Fprintf(&b, `<tr><td style="padding:4px;vertical-align:top">%s<br>%s</td><td style="padding:4px;vertical-align:top"><table>`,
			cell, html.EscapeString(filepath.Base(p.Image)))
		for _, c := range p.Top {
			label := c.Label
			if label == "" {
				label = fmt.Sprintf("class %d", c.Class)
			}
			fmt.Fprintf(&b, `<tr><td style="text-align:left;padding:0 8px">%s</td><td style="text-align:right">%.1f%%</td></tr>`,
				html.EscapeString(label), 100*c.Probability)
		}
		b.WriteString(`</table></td></tr>`)
	}
	b.WriteString(`</table>`)
	if InNotebook() {
		ShowHTML(b.String())
		return
	}
	for _, p := range preds {
		var top []string
		for _, c := range p.Top {
			top = append(top, fmt.Sprintf("%s %.1f%%", c.Label, 100*c.Probability))
		}
		fmt.Printf("%s: %s\n", filepath.Base(p.Image), strings.Join(top, ", "))
	}
}

// thumbnail decodes an image file and shrinks it by an integer factor to at most size pixels on its longer
// side.
func thumbnail(path string, size int) (image.Image, error) {
	px, err := datasets.DecodeFile(path)
	if err != nil {
		return nil, err
	}
	f := max(1, (max(px.Width, px.Height)+size-1)/size)
	img := image.NewRGBA(image.Rect(0, 0, px.Width/f, px.Height/f))
	for y := 0; y < px.Height/f; y++ {
		for x := 0; x < px.Width/f; x++ {
			i := ((y*f)*px.Width + x*f) * px.Channels
			r, g, bl := px.Pix[i], px.Pix[i], px.Pix[i]
			if px.Channels >= 3 {
				g, bl = px.Pix[i+1], px.Pix[i+2]
			}
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = r, g, bl, 255
		}
	}
	return img, nil
}

// ModelInput reads image files as the classifier's input (its own resizing and normalisation: flattened NHWC)
// and returns them with the pictures the model sees, for drawing maps over them.
func ModelInput(c *classifier.Classifier, paths []string) ([]float32, []*image.RGBA, error) {
	cfg := c.Config
	pre := c.Preprocessing
	pre.ImageSize = cfg.ImageSize
	var pix []float32
	var seen []*image.RGBA
	for _, p := range paths {
		px, err := datasets.DecodeFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("nb: %s: %w", p, err)
		}
		x, err := pre.InputPixels(px, cfg.Channels)
		if err != nil {
			return nil, nil, fmt.Errorf("nb: %s: %w", p, err)
		}
		pix = append(pix, x...)
		shown := append([]float32(nil), x...)
		pre.Denormalize(shown)
		img, err := viz.FromFloats(shown, cfg.ImageSize, cfg.ImageSize, cfg.Channels, 0, 255)
		if err != nil {
			return nil, nil, err
		}
		seen = append(seen, img)
	}
	return pix, seen, nil
}
