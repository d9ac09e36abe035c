package notebook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// displaysNotebook has cells that show pictures, tables and Markdown, with and without the outputs they should
// have stored.
const displaysNotebook = `{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": "nb.Show(x) in prose is no call"},
  {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["%%\n", "maps := draw()\n", "nb.Show(viz.Grid(maps, nil, 2, 40))\n"],
   "outputs": [{"name": "stdout", "output_type": "stream", "text": "head 1 attention\n"}]},
  {"cell_type": "code", "execution_count": 2, "metadata": {}, "source": "%%\nnb.ShowPlot(p)\nnb.ShowTable(h, rows)",
   "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}}]},
  {"cell_type": "code", "execution_count": 3, "metadata": {}, "source": "func helper() { nb.Show(img) }",
   "outputs": []},
  {"cell_type": "code", "execution_count": 4, "metadata": {}, "source": "%%\n// nb.Show(img) is commented out\nfmt.Println(1)",
   "outputs": [{"name": "stdout", "output_type": "stream", "text": "1\n"}]},
  {"cell_type": "code", "execution_count": 5, "metadata": {}, "source": "%%\nc := nb.Must(nb.Pretrained(b))\nnb.Show(draw(c))",
   "outputs": [{"name": "stdout", "output_type": "stream", "text": "no public ViT-B/16 at hand, this section is skipped: ...\n"}]},
  {"cell_type": "code", "execution_count": 6, "metadata": {"tags": ["may-show-nothing"]}, "source": "%%\nif ok { nb.Show(img) }",
   "outputs": []},
  {"cell_type": "code", "execution_count": 7, "metadata": {"tags": ["shows-picture"]}, "source": "%%\nhelper()",
   "outputs": []},
  {"cell_type": "code", "execution_count": 8, "metadata": {}, "source": "%%\nnb.Explore(controls, render)",
   "outputs": [{"output_type": "display_data", "data": {"text/html": ["<img src=\"data:image/png;base64,iVBO\">"]}, "metadata": {}}]},
  {"cell_type": "code", "execution_count": 9, "metadata": {}, "source": "%%\nnb.ShowMarkdown(fmt.Sprintf(\"area %.3f\", a))",
   "outputs": [{"output_type": "display_data", "data": {"text/plain": "area 0.257"}, "metadata": {}}]},
  {"cell_type": "code", "execution_count": 10, "metadata": {}, "source": "%%\nnb.Show(img)\npanic(\"boom\")",
   "outputs": [{"name": "stderr", "output_type": "stream", "text": "panic: boom\n"}]},
  {"cell_type": "code", "execution_count": 11, "metadata": {}, "source": "func main() {\n\tgonbui.DisplayImage(img)\n}",
   "outputs": []}
 ],
 "metadata": {}, "nbformat": 4, "nbformat_minor": 5
}`

// TestCheckDisplays: a cell that shows a picture (or a table, or Markdown) and stored none is named, with the
// call; declarations, comments, skipped sections, an exempting tag and cells that failed are not; a tag asks for a
// picture that the code does not show directly.
func TestCheckDisplays(t *testing.T) {
	wantProblems(t, displaysNotebook, []string{
		"cell 2 (%%): shows a picture (nb.Show) but stored none",
		"cell 3 (%%): shows HTML (nb.ShowTable) but stored none",
		"cell 8 (%%): shows a picture (tag shows-picture) but stored none",
		"cell 10 (%%): shows Markdown (nb.ShowMarkdown) but stored none",
		"cell 11 (%%): panic: boom",
		"cell 12 (func main() {): shows a picture (gonbui.DisplayImage) but stored none",
	})
}

// TestCheckAllNamesNotebookAndCell: `vit notebook check` fails on a stored notebook whose picture cell stored no
// picture, naming the notebook and the cell.
func TestCheckAllNamesNotebookAndCell(t *testing.T) {
	src := `{"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "%%\nnb.Show(viz.Grid(maps, names, 2, 40))",
	  "outputs": [{"name": "stdout", "output_type": "stream", "text": "head 1 attention\n"}]}],
	  "metadata": {STAMP}, "nbformat": 4, "nbformat_minor": 5}`
	nb, err := Parse([]byte(strings.Replace(src, "STAMP", "", 1)), "x.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	stamp := `"vitnb": {"budget": "default", "sources_sha256": "` + nb.SourcesHash() + `", "seconds": 3}`
	path := filepath.Join(t.TempDir(), "03_attention.ipynb")
	if err := os.WriteFile(path, []byte(strings.Replace(src, "STAMP", stamp, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = CheckAll([]string{path}, false, &out)
	if err == nil || err.Error() != "1 of 1 notebooks failed the check" || !strings.Contains(out.String(), "FAIL "+path) ||
		!strings.Contains(out.String(), "cell 1 (%%): shows a picture (nb.Show) but stored none") {
		t.Fatalf("CheckAll: %v, output:\n%s", err, out.String())
	}
}
