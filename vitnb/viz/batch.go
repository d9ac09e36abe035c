package viz

import "image"

// Pictures turns n images of a flattened NHWC batch (h x w x c values each, between lo and hi) into pictures.
func Pictures(values []float32, n, h, w, c int, lo, hi float32) ([]image.Image, error) {
	per := h * w * c
	pics := make([]image.Image, n)
	for k := range n {
		img, err := FromFloats(values[k*per:(k+1)*per], h, w, c, lo, hi)
		if err != nil {
			return nil, err
		}
		pics[k] = img
	}
	return pics, nil
}
