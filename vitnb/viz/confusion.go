package viz

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/vitnb/vitnb/vitnb/files"
)

// Blues maps t in [0, 1] (clipped) from white to dark blue, as matplotlib's "Blues" colour map that confusion
// matrices are usually drawn with.
func Blues(t float64) color.RGBA {
	t = min(max(t, 0), 1)
	from, to := [3]float64{247, 251, 255}, [3]float64{8, 48, 107}
	mix := func(k int) uint8 { return uint8(math.Round(from[k] + t*(to[k]-from[k]))) }
	return color.RGBA{mix(0), mix(1), mix(2), 255}
}

// ConfusionMatrix draws a confusion matrix (counts[true][predicted]) as a picture: one square per pair of
// classes with its count, shaded by the count's share of the true class's examples (Blues: white 0, dark blue
// 1), true classes as rows (names on the left), predicted classes as columns (names written upwards on top),
// and each true class's accuracy (recall) in a last column. classes names the classes (missing names are
// numbers); title goes on top. A matrix too large to draw (files.CheckPicture: about 170 classes) is an error:
// show fewer classes (training.Metrics.ConfusionView).
func ConfusionMatrix(counts [][]int, classes []string, title string) (*image.RGBA, error) {
	n := len(counts)
	if n == 0 {
		return nil, fmt.Errorf("viz: empty confusion matrix")
	}
	largest := 0
	for i, row := range counts {
		if len(row) != n {
			return nil, fmt.Errorf("viz: confusion matrix row %d has %d counts, want %d (square)", i, len(row), n)
		}
		for _, c := range row {
			if c < 0 {
				return nil, fmt.Errorf("viz: negative count %d in row %d of the confusion matrix", c, i)
			}
			largest = max(largest, c)
		}
	}
	if len(classes) > n {
		return nil, fmt.Errorf("viz: %d class names for a %dx%d confusion matrix", len(classes), n, n)
	}
	const (
		pad        = 6
		accHeader  = "accuracy"
		axisTrue   = "true class"
		axisPred   = "predicted class"
		titleSpace = FontHeight + 8
	)
	cell := max(34, TextWidth(fmt.Sprint(largest))+10)
	nameW := 0
	for i := range n {
		nameW = max(nameW, TextWidth(className(classes, i)))
	}
	accW := max(TextWidth(accHeader), TextWidth("100.0%")) + 12
	left := pad + FontHeight + 6 + nameW + 6       // rotated axis title, row names
	top := titleSpace + FontHeight + 6 + nameW + 6 // axis title, upward column names
	w := max(left+n*cell+accW+pad, TextWidth(title)+2*pad)
	h := top + n*cell + pad
	if err := files.CheckPicture(float64(w)*float64(h), fmt.Sprintf("viz: a confusion matrix of %d classes (%dx%d)", n, w, h),
		"show fewer classes (training.Metrics.ConfusionView gives the most confused ones)"); err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	Fill(img, img.Bounds(), White)
	Label(img, (w-TextWidth(title))/2, 4, title, Black)
	Label(img, left+(n*cell-TextWidth(axisPred))/2, titleSpace, axisPred, Black)
	drawAt(img, rotateCCW(textImage(axisTrue, Black)), pad, top+(n*cell-TextWidth(axisTrue))/2)
	for j := range n {
		name := rotateCCW(textImage(className(classes, j), Black))
		drawAt(img, name, left+j*cell+(cell-FontHeight)/2, top-6-name.Bounds().Dy())
	}
	Label(img, left+n*cell+(accW-TextWidth(accHeader))/2, top-6-FontHeight, accHeader, Black)
	for i, row := range counts {
		total := 0
		for _, c := range row {
			total += c
		}
		y := top + i*cell
		name := className(classes, i)
		Label(img, left-6-TextWidth(name), y+(cell-FontHeight)/2, name, Black)
		for j, c := range row {
			share := 0.0
			if total > 0 {
				share = float64(c) / float64(total)
			}
			x := left + j*cell
			Fill(img, image.Rect(x, y, x+cell, y+cell), Blues(share))
			fg := color.Color(Black)
			if share > 0.5 {
				fg = White
			}
			s := fmt.Sprint(c)
			Label(img, x+(cell-TextWidth(s))/2, y+(cell-FontHeight)/2, s, fg)
		}
		acc := "-"
		if total > 0 {
			acc = fmt.Sprintf("%.1f%%", 100*float64(row[i])/float64(total))
		}
		Label(img, left+n*cell+(accW-TextWidth(acc))/2, y+(cell-FontHeight)/2, acc, Black)
	}
	// Grid lines between the cells, and a frame.
	for k := 0; k <= n; k++ {
		Fill(img, image.Rect(left+k*cell, top, left+k*cell+1, top+n*cell), LightGrey)
		Fill(img, image.Rect(left, top+k*cell, left+n*cell, top+k*cell+1), LightGrey)
	}
	return img, nil
}

// textImage draws text on a white picture of its own size.
func textImage(text string, c color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, max(TextWidth(text), 1), FontHeight))
	Fill(img, img.Bounds(), White)
	Label(img, 0, 0, text, c)
	return img
}

// rotateCCW turns a picture a quarter turn counter-clockwise (text then reads upwards).
func rotateCCW(src *image.RGBA) *image.RGBA {
	b := src.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.SetRGBA(y, b.Dx()-1-x, src.RGBAAt(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}
