// Package nb is the glue between the vitnb notebooks (GoNB) and the rest of the project: it displays the
// pictures of package viz in a notebook cell (PNG, HTML), reads the notebook's budget, and trains or loads the
// small models that the notebooks look inside.
//
// Outside a notebook (a program, a test) the Show functions print a one-line description instead, so code
// written in a notebook runs anywhere. Only this package imports GoNB: the vit command does not depend on it.
package nb

import (
	"fmt"
	"image"
	"os"
	"slices"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/vitnb/vitnb/vitnb/viz"
)

// BudgetEnv is the environment variable that overrides a notebook's budget; `vit notebook run -budget` sets it.
const BudgetEnv = "VITNB_BUDGET"

// Budget names.
const (
	// Quick runs a notebook on a 2-core CPU in a few minutes; CI uses it.
	Quick = "quick"
	// Default runs each notebook in at most about 10 minutes on 2 idle cores (the notebooks after the second
	// reuse the model it trained); the stored outputs are its.
	Default = "default"
	// Full trains longer and looks at more images.
	Full = "full"
)

// Budgets are the budget names, from the cheapest.
var Budgets = []string{Quick, Default, Full}

// Budget returns the notebook's budget: $VITNB_BUDGET when set, else def. It panics on a value other than
// Quick, Default or Full, so that a typo does not silently run the wrong setting.
func Budget(def string) string {
	b := def
	if env := strings.TrimSpace(os.Getenv(BudgetEnv)); env != "" {
		b = env
	}
	if !slices.Contains(Budgets, b) {
		panic(fmt.Sprintf("nb: budget must be %q, %q or %q, got %q (from $%s or the notebook)", Quick, Default, Full,
			b, BudgetEnv))
	}
	return b
}

// InNotebook reports whether the program runs as a GoNB cell.
func InNotebook() bool { return gonbui.IsNotebook }

// Show displays an image in the cell as PNG (stored in the notebook, renders anywhere).
func Show(img image.Image) {
	data, err := viz.EncodePNG(img)
	if err != nil {
		panic(err)
	}
	if !InNotebook() {
		fmt.Printf("[image %dx%d, %d bytes of PNG]\n", img.Bounds().Dx(), img.Bounds().Dy(), len(data))
		return
	}
	gonbui.DisplayPNG(data)
	flush()
}

// flush returns once GoNB has passed on to the notebook everything this program displayed so far. The display
// data travel through a named pipe that GoNB stops reading when the cell's program exits: without this, what a
// cell displays just before it ends can be lost (a small picture fits in the pipe's buffer, so the program exits
// before GoNB has read it; notebook 3's two-head picture was missing from the stored outputs that way, while a
// slower front end happened to read it in time).
func flush() { gonbui.Sync() }

// ShowScaled displays an image enlarged by an integer factor (small images stay crisp).
func ShowScaled(img image.Image, factor int) { Show(viz.Scale(img, factor)) }

// ShowHTML displays HTML in the cell. Use inline styles only: scripts and style sheets from a CDN do not load in
// a stored notebook.
func ShowHTML(html string) {
	if !InNotebook() {
		fmt.Printf("[html, %d bytes]\n", len(html))
		return
	}
	gonbui.DisplayHTML(html)
	flush()
}

// ShowMarkdown displays Markdown in the cell.
func ShowMarkdown(md string) {
	if !InNotebook() {
		fmt.Println(md)
		return
	}
	gonbui.DisplayMarkdown(md)
	flush()
}

// ShowTable displays an HTML table (see viz.Table).
func ShowTable(header []string, rows [][]string) { ShowHTML(viz.Table(header, rows)) }

// ShowPlot draws and displays a plot.
func ShowPlot(p viz.Plot) { Show(Must(p.Image())) }

// Must returns v, or panics with err: notebooks read better without an error check per line, and a panic in a
// cell is reported (and fails `vit notebook run`).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Check panics if err is not nil.
func Check(err error) {
	if err != nil {
		panic(err)
	}
}

// Must2 returns a and b, or panics with err.
func Must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// Must3 returns a, b and c, or panics with err.
func Must3[A, B, C any](a A, b B, c C, err error) (A, B, C) {
	if err != nil {
		panic(err)
	}
	return a, b, c
}
