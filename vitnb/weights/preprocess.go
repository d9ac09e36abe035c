package weights

import (
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb"
)

// Preprocessing is the input pipeline a checkpoint was trained with (resolution, resize filter, crop, mean and
// std): datasets.Preprocessing, which the data pipeline and package classifier read.
type Preprocessing = datasets.Preprocessing

// preprocessingFor returns the pipeline of a checkpoint: mean = std = 0.5 (Google's and Hugging Face's ViTs,
// and timm's augreg ones) unless the sidecar files say otherwise. What they say must be usable for a model of
// cfg's channels (a mean and a std per channel, std > 0, a bilinear or bicubic filter, a crop in [0, 1]): else the
// error names the file, instead of a later one blamed on each image.
func preprocessingFor(f Format, sc *sidecar, cfg vitnb.Config) (Preprocessing, error) {
	p := datasets.ReferencePreprocessing(cfg.ImageSize, cfg.Channels)
	if f == FormatTimm {
		p.Resize = datasets.ResizeBicubic
	}
	if sc == nil {
		return p, nil
	}
	// set copies a mean or std of a sidecar file into dst: one value per channel, or equal values ([0.5, 0.5,
	// 0.5] beside a grey model) that stand for every channel; else an error naming the file and the field.
	set := func(dst []float32, values []float64, file, field string) error {
		if len(values) != len(dst) {
			if len(values) == 0 || slices.Min(values) != slices.Max(values) {
				return fmt.Errorf("%s: %s %v: %d values for %d channels", file, field, values, len(values), len(dst))
			}
			values = slices.Repeat(values[:1], len(dst))
		}
		for i := range dst {
			dst[i] = float32(values[i])
		}
		return nil
	}
	check := func(file, field string, mean, std []float64) error {
		if mean != nil || std != nil {
			if err := set(p.Mean, mean, file, field+"mean"); err != nil {
				return err
			}
			if err := set(p.Std, std, file, field+"std"); err != nil {
				return err
			}
		}
		if err := p.Check(cfg.Channels); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return nil
	}
	if pc := sc.PretrainedCfg; pc != nil {
		p.CropPct = pc.CropPct
		if pc.Interpolation != "" {
			p.Resize = pc.Interpolation
		}
		if err := check(sc.path, "pretrained_cfg ", pc.Mean, pc.Std); err != nil {
			return p, err
		}
	}
	if pp := sc.preprocessorHF; pp != nil {
		if pp.Resample != nil { // PIL codes: 2 bilinear, 3 bicubic.
			p.Resize = map[int]string{0: "nearest", 2: "bilinear", 3: "bicubic"}[*pp.Resample]
			if p.Resize == "" {
				return p, fmt.Errorf("%s: resample %d: want 2 (bilinear) or 3 (bicubic)", sc.ppPath, *pp.Resample)
			}
		}
		if err := check(sc.ppPath, "image_", pp.ImageMean, pp.ImageStd); err != nil {
			return p, err
		}
	}
	return p, nil
}

//go:embed imagenet_classes.txt
var imagenetClasses string

// ImageNetClasses returns the 1000 ImageNet-1k class names in the standard (sorted WordNet id) order, as
// "tench, Tinca tinca" (from timm's imagenet_synset_to_lemma.txt).
func ImageNetClasses() []string {
	return strings.Split(strings.TrimRight(imagenetClasses, "\n"), "\n")
}

// placeholderLabels tells whether id2label holds Hugging Face's placeholder names ("LABEL_0", ...) only, which
// transformers writes for models without class names.
func placeholderLabels(id2label map[string]string) bool {
	for id, name := range id2label {
		if name != "LABEL_"+id {
			return false
		}
	}
	return true
}

// labelsFor returns the class names of the sidecar config (HF id2label, timm label_names) or ImageNet's for a
// 1000-class head. Hugging Face's placeholder names ("LABEL_0") count as none.
func labelsFor(sc *sidecar, classes int) []string {
	if sc != nil && len(sc.LabelNames) == classes && classes > 0 {
		return sc.LabelNames
	}
	if sc != nil && len(sc.ID2Label) == classes && classes > 0 && !placeholderLabels(sc.ID2Label) {
		labels := make([]string, classes)
		ok := true
		for id, name := range sc.ID2Label {
			i, err := strconv.Atoi(id)
			if ok = err == nil && i >= 0 && i < classes; !ok {
				break // not the ids 0 to classes-1
			}
			labels[i] = name
		}
		if ok {
			return labels
		}
	}
	if classes == 1000 {
		return ImageNetClasses()
	}
	return nil
}

// convertHalf fills a []float16.Float16 or []bfloat16.BFloat16 from float32 values.
func convertHalf(flat any, data []float32) error {
	switch v := flat.(type) {
	case []float16.Float16:
		for i, x := range data {
			v[i].SetFloat32(x)
		}
	case []bfloat16.BFloat16:
		for i, x := range data {
			v[i] = bfloat16.FromFloat32(x)
		}
	default:
		return fmt.Errorf("unsupported variable type %T", flat)
	}
	return nil
}
