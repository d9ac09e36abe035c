package datasets

import (
	"errors"
	"fmt"
	"image"

	"github.com/vitnb/vitnb/vitnb/files"
)

// CheckImage tells why an image.Image that a program gives (not one DecodeImage decoded) cannot be converted to
// pixels, before any pixel is read or allocated: no image (nil, or a nil pointer), bounds that are empty or
// boundless (image.Uniform's span two billion pixels a side), more pixels than MaxImagePixels, or an RGB copy
// larger than the memory available (files.HostMemory).
func CheckImage(img image.Image) error {
	if img == nil {
		return errors.New("no image (nil)")
	}
	b, err := bounds(img)
	if err != nil {
		return err
	}
	if err := checkPixels(b.Dx(), b.Dy(), fmt.Sprintf("the image's bounds %v", b)); err != nil {
		return err
	}
	if avail, source, ok := hostMemory(); ok {
		need := 3 * float64(b.Dx()) * float64(b.Dy())
		return files.NotEnoughMemory(need, avail, source, fmt.Sprintf("an image of %dx%d pixels: in RGB, they", b.Dx(), b.Dy()),
			"use a smaller image, or a pixel limit ("+MaxPixelsEnv+")")
	}
	return nil
}

// bounds returns img.Bounds(), or an error when it panics (a nil *image.RGBA, say).
func bounds(img image.Image) (b image.Rectangle, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the image (%T) cannot tell its bounds: %v", img, r)
		}
	}()
	return img.Bounds(), nil
}

// ImagePixels converts an image.Image given by a program to RGB pixels (ToRGB) after CheckImage; an image whose
// pixels cannot be read as its bounds say (an image.RGBA whose Pix is shorter than its Rect, say) is an error, not
// a crash.
func ImagePixels(img image.Image) (px *Pixels, err error) {
	if err := CheckImage(img); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			px, err = nil, fmt.Errorf("reading the pixels of the image (%T, bounds %v): %v", img, img.Bounds(), r)
		}
	}()
	return ToRGB(img), nil
}
