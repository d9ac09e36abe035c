package classifier

import (
	"fmt"
	"image"
	"slices"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/explain"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
)

// AttentionPicture draws the first n images of a split of ds, each beside itself seen through the model's attention
// rollout (the class token's row; the paper's Fig. 6), labelled "true / predicted", four pairs a row, zoomed by
// scale. It also returns how many images it shows (fewer than n when the split is smaller) and how many of them the
// model classifies right.
func (c *Classifier) AttentionPicture(ds *datasets.Dataset, split string, n, scale int) (pic *image.RGBA, shown, correct int, err error) {
	if err := c.usable(); err != nil {
		return nil, 0, 0, err
	}
	if ds == nil {
		return nil, 0, 0, errNoDataset
	}
	if n <= 0 || n > EvalBatch {
		return nil, 0, 0, fmt.Errorf("attention picture: n must be in [1, %d], got %d", EvalBatch, n)
	}
	if scale < 1 {
		return nil, 0, 0, fmt.Errorf("attention picture: the zoom (scale) must be at least 1, got %d", scale)
	}
	pipe, err := c.Split(ds, split, n, 0, 0)
	if err != nil {
		return nil, 0, 0, err
	}
	var batch *datasets.Batch
	for b, berr := range pipe.Batches() {
		if berr != nil {
			return nil, 0, 0, berr
		}
		batch = b
		break
	}
	if batch == nil {
		return nil, 0, 0, fmt.Errorf("%s/%s has no images", ds.Name, split)
	}
	e, err := c.Explainer()
	if err != nil {
		return nil, 0, 0, err
	}
	ex, err := e.Explain(batch.Images, batch.N, nil)
	if err != nil {
		return nil, 0, 0, err
	}
	for i, logits := range ex.Logits {
		if err := c.finiteLogits(i, logits); err != nil {
			return nil, 0, 0, err
		}
	}
	cfg := c.Config
	var pics []image.Image
	var labels []string
	per := cfg.ImageSize * cfg.ImageSize * cfg.Channels
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
	return viz.Grid(pics, labels, 4, scale), batch.N, correct, nil
}
