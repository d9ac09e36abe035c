package datasets

import (
	"math"
	"math/rand/v2"
)

// Constants of the preprocessing, from the paper's reference code (google-research/vision_transformer,
// vit_jax/input_pipeline.py): tf.image.sample_distorted_bounding_box with area_range=(0.05, 1.0) and the default
// aspect_ratio_range=(3/4, 4/3), max_attempts=100, then tf.image.resize (bilinear) and a flip with probability 1/2;
// pixels scaled as (x-127.5)/127.5.
const (
	// DefaultCropAreaMin is the smallest crop area, as a fraction of the image (reference code: 0.05;
	// torchvision's RandomResizedCrop uses 0.08).
	DefaultCropAreaMin = 0.05
	cropAspectMin      = 3.0 / 4.0
	cropAspectMax      = 4.0 / 3.0
	cropMaxAttempts    = 100
	pixelCenter        = 127.5
	pixelScale         = 1.0 / 127.5
)

// box is a crop of a source image, in pixels.
type box struct{ y0, x0, h, w int }

// inceptionCrop samples a crop as tf.image.sample_distorted_bounding_box does without bounding boxes: area uniform
// in [areaMin, 1] of the image, aspect ratio (width/height) uniform in [3/4, 4/3], position uniform; after
// cropMaxAttempts failures, the whole image.
func inceptionCrop(rng *rand.Rand, height, width int, areaMin float64) box {
	area := float64(height * width)
	for range cropMaxAttempts {
		target := area * (areaMin + (1-areaMin)*rng.Float64())
		aspect := cropAspectMin + (cropAspectMax-cropAspectMin)*rng.Float64()
		w := int(math.Round(math.Sqrt(target * aspect)))
		h := int(math.Round(math.Sqrt(target / aspect)))
		if w >= 1 && h >= 1 && w <= width && h <= height {
			return box{y0: rng.IntN(height - h + 1), x0: rng.IntN(width - w + 1), h: h, w: w}
		}
	}
	return box{h: height, w: width}
}

// centerCrop returns the central square of side fraction*min(height, width), as torchvision's
// Resize(size/fraction) followed by CenterCrop(size) (fraction 0.875 for 224 from 256); fraction <= 0 or >= 1 keeps
// the whole image.
func centerCrop(height, width int, fraction float64) box {
	if fraction <= 0 || fraction >= 1 {
		return box{h: height, w: width}
	}
	side := max(1, int(math.Round(fraction*float64(min(height, width)))))
	return box{y0: (height - side) / 2, x0: (width - side) / 2, h: side, w: side}
}

// axisTable holds, for each output coordinate, the two source indices and the weight of the second, for bilinear
// resampling with half-pixel centers (tf.image.resize in TF2, PyTorch align_corners=False).
type axisTable struct {
	i0, i1 []int
	w1     []float32
}

func makeAxis(start, length, out int, flip bool) axisTable {
	t := axisTable{i0: make([]int, out), i1: make([]int, out), w1: make([]float32, out)}
	scale := float64(length) / float64(out)
	for o := range out {
		src := (float64(o)+0.5)*scale - 0.5
		src = math.Max(0, math.Min(src, float64(length-1)))
		f := math.Floor(src)
		i0 := int(f)
		i1 := min(i0+1, length-1)
		k := o
		if flip {
			k = out - 1 - o
		}
		t.i0[k], t.i1[k], t.w1[k] = start+i0, start+i1, float32(src-f)
	}
	return t
}

// render writes the crop b of p, resized to outH x outW with the filter of norm, optionally mirrored, with outC
// channels (1 or 3), normalised by norm, into dst (outH*outW*outC float32 values, HWC). Grey sources are repeated to
// 3 channels; RGB to 1 channel uses ITU-R 601 luma (PIL's convert("L")).
func render(dst []float32, p *Pixels, b box, outH, outW, outC int, flip bool, norm *normalizer) {
	if norm.bicubic && (b.h != outH || b.w != outW) {
		renderCubic(dst, p, b, outH, outW, outC, flip, norm)
		return
	}
	inC := p.Channels
	stride := p.Width * inC
	// Fast path: no resampling needed.
	if b.h == outH && b.w == outW && inC == outC {
		for y := range outH {
			row := p.Pix[(b.y0+y)*stride+b.x0*inC:]
			o := dst[y*outW*outC : (y+1)*outW*outC]
			for x := range outW {
				sx := x
				if flip {
					sx = outW - 1 - x
				}
				for c := range outC {
					o[x*outC+c] = (float32(row[sx*inC+c]) - norm.center[c]) * norm.scale[c]
				}
			}
		}
		return
	}
	ys := makeAxis(b.y0, b.h, outH, false)
	xs := makeAxis(b.x0, b.w, outW, flip)
	var px [3]float32
	for y := range outH {
		r0 := p.Pix[ys.i0[y]*stride:]
		r1 := p.Pix[ys.i1[y]*stride:]
		wy := ys.w1[y]
		o := dst[y*outW*outC : (y+1)*outW*outC]
		for x := range outW {
			a, c2, wx := xs.i0[x]*inC, xs.i1[x]*inC, xs.w1[x]
			for c := range inC {
				top := float32(r0[a+c]) + wx*(float32(r0[c2+c])-float32(r0[a+c]))
				bot := float32(r1[a+c]) + wx*(float32(r1[c2+c])-float32(r1[a+c]))
				px[c] = top + wy*(bot-top)
			}
			norm.put(o[x*outC:(x+1)*outC], px[:inC])
		}
	}
}

// normalizer maps resampled pixel values (0-255) to model input: (v - center[c]) * scale[c], with center = 255*mean
// and scale = 1/(255*std). The reference code's (x-127.5)/127.5 is mean = std = 0.5.
type normalizer struct {
	center, scale [3]float32
	bicubic       bool
}

// newNormalizer returns the normalizer of mean and std (per output channel, on values in [0, 1]; nil for the
// reference code's 0.5 and 0.5) and resize filter.
func newNormalizer(mean, std []float32, resize string) *normalizer {
	n := &normalizer{bicubic: resize == ResizeBicubic}
	for c := range 3 {
		n.center[c], n.scale[c] = pixelCenter, pixelScale
		if len(mean) > 0 {
			m, s := mean[min(c, len(mean)-1)], std[min(c, len(std)-1)]
			n.center[c], n.scale[c] = 255*m, float32(1/(255*float64(s)))
		}
	}
	return n
}

// put normalises one pixel px (1 or 3 channels, 0-255) into out (1 or 3 channels).
func (n *normalizer) put(out, px []float32) {
	switch {
	case len(px) == len(out):
		for c := range out {
			out[c] = (px[c] - n.center[c]) * n.scale[c]
		}
	case len(px) == 1: // grey to RGB
		for c := range out {
			out[c] = (px[0] - n.center[c]) * n.scale[c]
		}
	default: // RGB to grey
		l := 0.299*px[0] + 0.587*px[1] + 0.114*px[2]
		out[0] = (l - n.center[0]) * n.scale[0]
	}
}

// cubicTaps holds, for each output coordinate, the first source index and the weights of the source pixels from
// there on.
type cubicTaps struct {
	first []int
	w     [][]float32
}

// makeCubicAxis computes the bicubic resampling of PIL's Image.resize(BICUBIC) (Pillow's libImaging/Resample.c,
// what timm's and Hugging Face's evaluation transforms use): the Keys cubic with a = -0.5, its support widened by
// the scale when shrinking (antialiasing), weights normalised to sum 1, edges clamped to the image.
func makeCubicAxis(start, length, out int, flip bool) cubicTaps {
	const a = -0.5 // Pillow's bicubic_filter.
	cubic := func(x float64) float64 {
		x = math.Abs(x)
		switch {
		case x < 1:
			return ((a+2)*x-(a+3))*x*x + 1
		case x < 2:
			return (((x-5)*x+8)*x - 4) * a
		}
		return 0
	}
	scale := float64(length) / float64(out)
	filterScale := math.Max(scale, 1)
	support := 2 * filterScale
	t := cubicTaps{first: make([]int, out), w: make([][]float32, out)}
	for o := range out {
		center := (float64(o) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), length)
		ws := make([]float64, hi-lo)
		total := 0.0
		for j := range ws {
			ws[j] = cubic((float64(lo+j) - center + 0.5) / filterScale)
			total += ws[j]
		}
		k := o
		if flip {
			k = out - 1 - o
		}
		t.first[k] = start + lo
		t.w[k] = make([]float32, len(ws))
		for j := range ws {
			if total != 0 {
				t.w[k][j] = float32(ws[j] / total)
			}
		}
	}
	return t
}

// renderCubic is render with the bicubic filter: a horizontal then a vertical pass, as Pillow (which also rounds
// and clamps to 0-255 between the passes; here values stay in float, so they may overshoot slightly).
func renderCubic(dst []float32, p *Pixels, b box, outH, outW, outC int, flip bool, norm *normalizer) {
	inC := p.Channels
	xs := makeCubicAxis(b.x0, b.w, outW, flip)
	ys := makeCubicAxis(b.y0, b.h, outH, false)
	rows := make([]float32, b.h*outW*inC) // the crop's rows resampled horizontally
	for y := range b.h {
		src := p.Pix[(b.y0+y)*p.Width*inC:]
		for x := range outW {
			o := rows[(y*outW+x)*inC:]
			for c := range inC {
				v := float32(0)
				for j, w := range xs.w[x] {
					v += w * float32(src[(xs.first[x]+j)*inC+c])
				}
				o[c] = v
			}
		}
	}
	var px [3]float32
	for y := range outH {
		o := dst[y*outW*outC : (y+1)*outW*outC]
		for x := range outW {
			for c := range inC {
				v := float32(0)
				for j, w := range ys.w[y] {
					v += w * rows[((ys.first[y]-b.y0+j)*outW+x)*inC+c]
				}
				px[c] = min(max(v, 0), 255)
			}
			norm.put(o[x*outC:(x+1)*outC], px[:inC])
		}
	}
}

// shift moves the HWC image img (h x w x c, values in [-1, 1]) by dy rows and dx columns in place, filling the
// uncovered border with black (-1): the crop at offset (pad+dy, pad+dx) of the image padded by pad pixels of zeros,
// as torchvision's RandomCrop(padding=pad) before normalisation.
func shift(img []float32, h, w, c, dy, dx int) {
	if dy == 0 && dx == 0 {
		return
	}
	const black = (0 - pixelCenter) * pixelScale
	row := w * c
	tmp := make([]float32, len(img))
	for i := range tmp {
		tmp[i] = black
	}
	for y := range h {
		sy := y + dy
		if sy < 0 || sy >= h {
			continue
		}
		x0, x1 := max(0, -dx), min(w, w-dx) // destination columns whose source x+dx is inside
		if x0 >= x1 {
			continue
		}
		copy(tmp[y*row+x0*c:y*row+x1*c], img[sy*row+(x0+dx)*c:sy*row+(x1+dx)*c])
	}
	copy(img, tmp)
}
