package classifier

import (
	"fmt"
	"image"
	"slices"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/explain"
	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
)

// AttentionPicture draws the first n images of a split of ds, each beside itself seen through the model's attention
// rollout (the class token's row; the paper's Fig. 6), labelled "true / predicted", four pairs a row, zoomed by
// scale. It also returns how many images it shows (fewer than n when the split is smaller) and how many of them the
// model classifies right. The size of the picture is checked first (files.CheckPicture), and the images are
// explained a batch at a time (Batch: the backward pass and the attention maps count as extra memory per image).
func (c *Classifier) AttentionPicture(ds *datasets.Dataset, split string, n, scale int) (pic *image.RGBA, shown, correct int, err error) {
	if err := c.usable(); err != nil {
		return nil, 0, 0, err
	}
	if ds == nil {
		return nil, 0, 0, errNoDataset
	}
	if err := c.labels(ds); err != nil { // the picture says which images are classified right
		return nil, 0, 0, fmt.Errorf("attention picture: %w", err)
	}
	if n <= 0 || n > EvalBatch {
		return nil, 0, 0, fmt.Errorf("attention picture: n must be in [1, %d], got %d", EvalBatch, n)
	}
	if scale < 1 {
		return nil, 0, 0, fmt.Errorf("attention picture: the zoom (scale) must be at least 1, got %d", scale)
	}
	cfg := c.Config
	longest := 0
	for i := range cfg.NumClasses {
		longest = max(longest, viz.TextWidth(c.ClassName(i)))
	}
	side := float64(cfg.ImageSize) * float64(max(scale, 1))
	w, h := viz.GridSize(n, pictureColumns, max(2*side+float64(max(scale, 1)), float64(2*longest+viz.TextWidth(" / "))),
		side+viz.FontHeight+2)
	if err := files.CheckPicture(w*h, fmt.Sprintf("attention picture of %d images of %dx%d pixels at scale %d (%.0fx%.0f)",
		n, cfg.ImageSize, cfg.ImageSize, scale, w, h), "show fewer images (vit attention -n) or zoom less (-scale)"); err != nil {
		return nil, 0, 0, err
	}
	// Beyond inference, explaining keeps what the backward pass needs and the attention and its gradient of every
	// block: float32 out of the model, float64 per image (explain.Explainer.Explain).
	t := float64(cfg.NumTokens())
	extra := cfg.EstimateMemory(2, true).Activations - cfg.EstimateMemory(1, true).Activations -
		(cfg.EstimateMemory(2, false).Activations - cfg.EstimateMemory(1, false).Activations) +
		24*float64(cfg.Depth*cfg.Heads)*t*t
	pipe, err := c.split(ds, split, n, 0, 0, extra)
	if err != nil {
		return nil, 0, 0, err
	}
	e, err := c.Explainer()
	if err != nil {
		return nil, 0, 0, err
	}
	var pics []image.Image
	var labels []string
	per := cfg.ImageSize * cfg.ImageSize * cfg.Channels
	for batch, berr := range pipe.Batches() {
		if berr != nil {
			return nil, 0, 0, berr
		}
		ex, err := e.Explain(batch.Images, batch.N, nil)
		if err != nil {
			return nil, 0, 0, err
		}
		for i, logits := range ex.Logits {
			if err := c.finiteLogits(shown+i, logits); err != nil {
				return nil, 0, 0, err
			}
		}
		for i := range batch.N {
			x := slices.Clone(batch.Images[i*per : (i+1)*per])
			c.Preprocessing.Denormalize(x)
			img, err := viz.FromFloats(x, cfg.ImageSize, cfg.ImageSize, cfg.Channels, 0, 255)
			if err != nil {
				return nil, 0, 0, err
			}
			masked, err := viz.Mask(img, ex.Maps[explain.MethodRollout][i], cfg.GridSize(), cfg.GridSize())
			if err != nil {
				return nil, 0, 0, err
			}
			pics = append(pics, viz.HStack(1, img, masked))
			labels = append(labels, c.ClassName(int(batch.Labels[i]))+" / "+c.ClassName(ex.Classes[i]))
			if training.Predicted(ex.Logits[i]) == int(batch.Labels[i]) {
				correct++
			}
		}
		shown += batch.N
	}
	if shown == 0 {
		return nil, 0, 0, fmt.Errorf("%s/%s has no images", ds.Name, split)
	}
	return viz.Grid(pics, labels, pictureColumns, scale), shown, correct, nil
}

// pictureColumns is the number of image pairs in a row of AttentionPicture.
const pictureColumns = 4
