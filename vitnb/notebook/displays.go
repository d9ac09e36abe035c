package notebook

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// SkippedNote is the phrase a cell prints when it skips its section on purpose (package nb prints it when no
// public checkpoint is at hand): CheckDisplays does not ask such a cell for the picture or table it would show.
const SkippedNote = "this section is skipped"

// Cell tags (the cell's metadata "tags", as JupyterLab's property inspector edits them) that tell CheckDisplays
// what a cell must store when reading its code cannot: TagShowsPicture for a cell that shows a picture through a
// function of its own (declared in another cell), TagMayShowNothing for a cell that may end without showing what
// it calls (a picture drawn only in some cases).
const (
	TagShowsPicture   = "shows-picture"
	TagMayShowNothing = "may-show-nothing"
)

// Kinds of display output a cell stores.
const (
	shownPicture  = "a picture"
	shownTable    = "HTML"
	shownMarkdown = "Markdown"
)

// displayCall matches, in the code a cell runs, the calls that display something, with the kind of output each
// must leave: package nb's Show functions and the explorer (its default view is a picture), and GoNB's own.
var displayCall = regexp.MustCompile(`\b(nb\.(Show|ShowScaled|ShowPlot|Explore|ShowTable|ShowHTML|ShowPredictions|ShowMarkdown)|gonbui\.(DisplayImage|DisplayPNG|DisplayPng|DisplayHTML|DisplayHtml|DisplayMarkdown|DisplayMD))\(`)

func callKind(call string) string {
	switch call {
	case "nb.ShowTable", "nb.ShowHTML", "nb.ShowPredictions", "gonbui.DisplayHTML", "gonbui.DisplayHtml":
		return shownTable
	case "nb.ShowMarkdown", "gonbui.DisplayMarkdown", "gonbui.DisplayMD":
		return shownMarkdown
	}
	return shownPicture
}

var (
	lineComment = regexp.MustCompile(`(?m)(^|\s)//.*$`)
	funcMain    = regexp.MustCompile(`(?m)^func main\(\)`)
)

// executedCode returns the part of a GoNB cell that runs: what follows its `%%` line, or the whole cell when it
// declares func main; "" for a cell of declarations only (GoNB compiles it and runs nothing), comments removed.
func executedCode(src string) string {
	lines := strings.Split(src, "\n")
	code := ""
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "%%") {
			code = strings.Join(lines[i+1:], "\n")
			break
		}
	}
	if code == "" && funcMain.MatchString(src) {
		code = src
	}
	return lineComment.ReplaceAllString(code, "")
}

// stored returns the kinds of display output a cell holds, and whether it printed SkippedNote.
func stored(c Cell) (kinds map[string]bool, skipped bool) {
	kinds = map[string]bool{}
	for _, o := range c.Outputs {
		if strings.Contains(string(o.Text), SkippedNote) {
			skipped = true
		}
		for mime, raw := range o.Data {
			switch {
			case strings.HasPrefix(mime, "image/"):
				kinds[shownPicture] = true
			case mime == "text/html":
				kinds[shownTable] = true
				var s Text
				if json.Unmarshal(raw, &s) == nil && strings.Contains(string(s), "<img") {
					kinds[shownPicture] = true // the explorer's picture, or one inside HTML
				}
			case mime == "text/markdown":
				kinds[shownMarkdown] = true
			}
		}
	}
	return kinds, skipped
}

// CheckDisplays returns, for each code cell that displays something, the kinds of output it should have stored
// but did not: a cell whose code calls nb.Show, nb.ShowPlot, nb.Explore or gonbui.DisplayImage (and the like)
// must hold a picture, one that calls nb.ShowTable or nb.ShowHTML an HTML output, one that calls nb.ShowMarkdown
// a Markdown output. Only the code the cell runs counts (after `%%`, or a func main; not comments, not
// declarations that a later cell calls). Exceptions: a cell that printed SkippedNote, a cell tagged
// TagMayShowNothing, and a cell whose outputs already hold an error (reported by CheckOutputs). A cell tagged
// TagShowsPicture must hold a picture whatever its code says.
// CheckOutputs includes these problems.
func CheckDisplays(nb *Notebook) []Problem { return checkDisplays(nb, failures(nb)) }

func checkDisplays(nb *Notebook, failed []Problem) []Problem {
	var problems []Problem
	skip := map[int]bool{}
	for _, p := range failed {
		skip[p.Cell] = true
	}
	for i, c := range nb.Cells {
		if c.CellType != "code" || skip[i+1] || slices.Contains(c.Metadata.Tags, TagMayShowNothing) {
			continue
		}
		want := map[string][]string{} // kind -> calls
		var order []string
		for _, m := range displayCall.FindAllStringSubmatch(executedCode(string(c.Source)), -1) {
			k := callKind(m[1])
			if want[k] == nil {
				order = append(order, k)
			}
			if !slices.Contains(want[k], m[1]) {
				want[k] = append(want[k], m[1])
			}
		}
		if slices.Contains(c.Metadata.Tags, TagShowsPicture) && want[shownPicture] == nil {
			order = append(order, shownPicture)
			want[shownPicture] = []string{"tag " + TagShowsPicture}
		}
		if len(order) == 0 {
			continue
		}
		have, skipped := stored(c)
		if skipped {
			continue
		}
		for _, k := range order {
			if !have[k] {
				problems = append(problems, Problem{Cell: i + 1, Head: FirstLine(string(c.Source)),
					What: fmt.Sprintf("shows %s (%s) but stored none", k, strings.Join(want[k], ", "))})
			}
		}
	}
	return problems
}
