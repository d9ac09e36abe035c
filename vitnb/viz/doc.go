// Package viz draws the pictures of the vitnb notebooks and computes what they show, in pure Go (image/png,
// golang.org/x/image, gonum.org/v1/plot; no cgo): image grids with labels, patch grids and token sequences,
// pictures of the patch-embedding filters and their principal components (the paper's Fig. 7 left), cosine
// similarity of position embeddings (Fig. 7 centre), attention heat maps and explanation maps over images
// (Fig. 6), line plots, confusion matrices and HTML tables. The explanations themselves (attention rollout,
// gradient-weighted relevance, deletion curves, mean attention distance for Fig. 7 right) are computed by package
// vitnb/explain.
//
// Plots are drawn by gonum.org/v1/plot (round ticks, log axes, error bars, a legend placed where it covers no
// data); all text, of plots and of the other pictures, is Go Regular (golang.org/x/image/font/gofont) drawn
// anti-aliased. Images produced here are *image.RGBA; EncodePNG turns them into bytes that a notebook stores,
// SavePNG into a file, and SaveSVG writes a plot as a vector drawing for a report. The notebook display glue
// lives in package vitnb/nb, so that programs can use viz without GoNB.
package viz
