// Package viz draws the pictures of the vitnb notebooks and computes what they show, in pure Go (image/png,
// golang.org/x/image; no cgo, no GoMLX): image grids with labels, patch grids and token sequences, pictures of
// the patch-embedding filters and their principal components (the paper's Fig. 7 left), cosine similarity of
// position embeddings (Fig. 7 centre), attention heat maps, attention rollout (Abnar & Zuidema 2020, the
// paper's Fig. 6), mean attention distance (Fig. 7 right), line plots, confusion matrices and HTML tables.
//
// Images produced here are *image.RGBA; EncodePNG turns them into bytes that a notebook stores. The notebook
// display glue lives in package vitnb/nb, so that programs can use viz without GoNB.
package viz
