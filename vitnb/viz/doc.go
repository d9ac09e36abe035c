// Package viz draws the pictures of the vitnb notebooks and computes what they show, in pure Go (image/png,
// golang.org/x/image; no cgo): image grids with labels, patch grids and token sequences, pictures of the
// patch-embedding filters and their principal components (the paper's Fig. 7 left), cosine similarity of
// position embeddings (Fig. 7 centre), attention heat maps and explanation maps over images (Fig. 6), line
// plots, confusion matrices and HTML tables. The explanations themselves (attention rollout, gradient-weighted
// relevance, deletion curves, mean attention distance for Fig. 7 right) are computed by package
// vitnb/explain.
//
// Images produced here are *image.RGBA; EncodePNG turns them into bytes that a notebook stores. The notebook
// display glue lives in package vitnb/nb, so that programs can use viz without GoNB.
package viz
