package datasets

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// Resize filters of Preprocessing and Config.
const (
	// ResizeBilinear is tf.image.resize's bilinear filter with half-pixel centers, as the paper's code.
	ResizeBilinear = "bilinear"
	// ResizeBicubic is Pillow's bicubic filter (antialiased when shrinking), as timm's and Hugging Face's
	// evaluation transforms.
	ResizeBicubic = "bicubic"
)

// Preprocessing is how a model expects its images, and it travels with the model's weights as timm's
// pretrained_cfg does: the input resolution, the resize filter, the center-crop fraction of evaluation, and the
// per-channel mean and std of the normalisation (x/255 - mean) / std. Google's ViTs use mean = std = 0.5, which is
// the reference code's (x-127.5)/127.5; DeiT and many timm weights use ImageNet's mean and std.
type Preprocessing struct {
	// ImageSize is the side of the square input, in pixels.
	ImageSize int `json:"image_size"`
	// Mean and Std per channel, on pixel values in [0, 1].
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
	// Resize is the resampling filter: ResizeBilinear or ResizeBicubic.
	Resize string `json:"resize"`
	// CropPct is the center-crop fraction of evaluation (timm's crop_pct: the central CropPct of the shorter side
	// is resized to ImageSize); 0 resizes the whole image, as the paper's code does.
	CropPct float64 `json:"crop_pct,omitempty"`
}

// ReferencePreprocessing is the paper's code's: bilinear resize of the whole image to size, (x-127.5)/127.5.
func ReferencePreprocessing(size, channels int) Preprocessing {
	p := Preprocessing{ImageSize: size, Resize: ResizeBilinear}
	for range channels {
		p.Mean = append(p.Mean, 0.5)
		p.Std = append(p.Std, 0.5)
	}
	return p
}

// Check tells what is wrong with p for a model of that many channels, if anything.
func (p Preprocessing) Check(channels int) error {
	if p.ImageSize <= 0 {
		return fmt.Errorf("preprocessing: image size must be positive, got %d", p.ImageSize)
	}
	if err := checkNormalization(p.Mean, p.Std, p.Resize, channels); err != nil {
		return err
	}
	if p.CropPct < 0 || p.CropPct > 1 {
		return fmt.Errorf("preprocessing: crop fraction must be in [0, 1], got %g", p.CropPct)
	}
	return nil
}

// checkNormalization checks a mean and a std per channel (finite, std > 0) and the resize filter: what
// Preprocessing.Check and NewPipeline share.
func checkNormalization(mean, std []float32, resize string, channels int) error {
	if len(mean) != channels || len(std) != channels {
		return fmt.Errorf("preprocessing: want a mean and a std per channel (%d), got %d and %d", channels, len(mean), len(std))
	}
	for c := range std {
		if !(std[c] > 0) || math.IsInf(float64(std[c]), 0) || math.IsNaN(float64(mean[c])) || math.IsInf(float64(mean[c]), 0) {
			return fmt.Errorf("preprocessing: channel %d has mean %g and std %g: want finite values, std > 0", c, mean[c], std[c])
		}
	}
	if resize != ResizeBilinear && resize != ResizeBicubic {
		return fmt.Errorf("preprocessing: resize filter %q: want %s or %s", resize, ResizeBilinear, ResizeBicubic)
	}
	return nil
}

// Normalize maps pixel values in [0, 1], interleaved by channel (HWC), to the model's input in place.
func (p Preprocessing) Normalize(pixels []float32) {
	c := len(p.Mean)
	if c == 0 {
		return
	}
	for i := range pixels {
		pixels[i] = (pixels[i] - p.Mean[i%c]) / p.Std[i%c]
	}
}

// Denormalize maps model input back to pixel values in [0, 255] (for pictures), in place.
func (p Preprocessing) Denormalize(values []float32) {
	c := len(p.Mean)
	if c == 0 {
		return
	}
	for i := range values {
		values[i] = 255 * (values[i]*p.Std[i%c] + p.Mean[i%c])
	}
}

// String describes the pipeline in one line.
func (p Preprocessing) String() string {
	s := fmt.Sprintf("resize to %dx%d (%s), mean %v, std %v", p.ImageSize, p.ImageSize, p.Resize, p.Mean, p.Std)
	if p.CropPct > 0 {
		s += fmt.Sprintf(", center crop %.3g", p.CropPct)
	}
	return s
}

// Eval returns an evaluation Config (one pass in order) of batchSize that feeds a model with this preprocessing.
func (p Preprocessing) Eval(batchSize int) Config {
	cfg := EvalConfig(batchSize, p.ImageSize)
	p.apply(&cfg)
	cfg.CenterCrop = p.CropPct
	return cfg
}

// Train returns a training Config (TrainConfig: augmentation, shuffling, endless) that feeds a model with this
// preprocessing; the augmentation fields are the caller's to adjust.
func (p Preprocessing) Train(batchSize int, seed uint64) Config {
	cfg := TrainConfig(batchSize, p.ImageSize, seed)
	p.apply(&cfg)
	return cfg
}

func (p Preprocessing) apply(cfg *Config) {
	cfg.Channels = len(p.Mean)
	cfg.Mean, cfg.Std, cfg.Resize = p.Mean, p.Std, p.Resize
}

// Input turns an image into model input [ImageSize, ImageSize, channels] (HWC, flattened) as the evaluation
// pipeline does: the central CropPct of the shorter side, resized with the filter, normalised; channels is 1 or 3
// (RGB to grey with ITU-R 601 luma).
func (p Preprocessing) Input(img image.Image, channels int) ([]float32, error) {
	if err := p.Check(channels); err != nil {
		return nil, err
	}
	px, err := ImagePixels(img)
	if err != nil {
		return nil, err
	}
	return p.InputPixels(px, channels)
}

// InputPixels is Input for decoded pixels (DecodeFile).
func (p Preprocessing) InputPixels(px *Pixels, channels int) ([]float32, error) {
	if err := p.Check(channels); err != nil {
		return nil, err
	}
	if px == nil {
		return nil, errors.New("no pixels (nil)")
	}
	if px.Channels != 1 && px.Channels != 3 {
		return nil, fmt.Errorf("an image of %d channels: want 1 or 3", px.Channels)
	}
	if px.Height == 0 || px.Width == 0 {
		return nil, fmt.Errorf("the image is empty (%dx%d)", px.Width, px.Height)
	}
	out := make([]float32, p.ImageSize*p.ImageSize*channels)
	render(out, px, centerCrop(px.Height, px.Width, p.CropPct), p.ImageSize, p.ImageSize, channels, false,
		newNormalizer(p.Mean, p.Std, p.Resize))
	return out, nil
}
