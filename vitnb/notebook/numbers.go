package notebook

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// TagQuotesOutputs marks a markdown cell whose numbers quote the notebook's outputs: CheckStored fails when one
// of them is found in no output (a rerun changed it). A number that a cell computes is better printed by the cell
// itself (nb.ShowMarkdown with fmt.Sprintf), where no rerun can contradict it.
const TagQuotesOutputs = "quotes-outputs"

// Kinds of number in prose (ProseNumber.Kind).
const (
	// NumberPlain is a number that may state a result: a count, a measurement, a share.
	NumberPlain = "number"
	// NumberReference names a figure, equation, table, section, appendix, notebook or year: not a result.
	NumberReference = "reference"
	// NumberCode is inside `code`: a setting or a name, as written in the code.
	NumberCode = "code"
)

// ProseNumber is a number written in a markdown cell, and the output that supports it, if any.
type ProseNumber struct {
	Cell    int    // 1-based index of the markdown cell
	Text    string // as written, e.g. "1,200", "86.0%", "-0.03"
	Kind    string // NumberPlain, NumberReference or NumberCode
	Context string // the words around it
	// From is the 1-based index of the code cell whose output holds it (0: none), Output the value there (e.g.
	// "85.96%" for "86.0%": rounded to the prose's decimals).
	From   int
	Output string
}

var (
	// proseNumber: a number not glued to a word, a slash or a dot before it (B/16, ViT-L/32, v0.28 are names).
	proseNumber = regexp.MustCompile(`(^|[^\w./\-])(-?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(%?)`)
	// outputNumber: every number in an output's text.
	outputNumber  = regexp.MustCompile(`-?\d[\d,]*(\.\d+)?`)
	referenceWord = regexp.MustCompile(`(?i)(fig\.|figure|eq\.|equation|table|section|appendix|notebooks?|and|iclr|cvpr|iccv|acl|bmvc)\s*$`)
	codeSpan      = regexp.MustCompile("`[^`]*`")
	htmlTag       = regexp.MustCompile(`<[^>]*>`)
)

// outputText returns the text a code cell stored: streams, plain text, Markdown, and HTML without its tags.
func outputText(c Cell) string {
	var b strings.Builder
	for _, o := range c.Outputs {
		b.WriteString(string(o.Text))
		b.WriteByte('\n')
		for _, mime := range []string{"text/plain", "text/markdown", "text/html"} {
			var s Text
			if raw, ok := o.Data[mime]; ok && json.Unmarshal(raw, &s) == nil {
				t := string(s)
				if mime == "text/html" {
					t = htmlTag.ReplaceAllString(t, " ")
				}
				b.WriteString(t)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// supports reports whether the output number out stands for the prose number: equal, or equal once rounded to
// the prose's decimals when the prose number has decimals or is a percentage (86.0% for 85.96%, 0.36 for 0.362).
func supports(prose, out string, percent bool) bool {
	p, o := strings.ReplaceAll(prose, ",", ""), strings.ReplaceAll(strings.TrimSuffix(out, "%"), ",", "")
	if p == o {
		return true
	}
	decimals := 0
	if i := strings.IndexByte(p, '.'); i >= 0 {
		decimals = len(p) - i - 1
	}
	if decimals == 0 && !percent {
		return false
	}
	pv, err1 := strconv.ParseFloat(p, 64)
	ov, err2 := strconv.ParseFloat(o, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	scale := math.Pow(10, float64(decimals))
	return math.Round(ov*scale) == math.Round(pv*scale)
}

// Numbers returns every number written in the markdown cells of a notebook, each with the nearest code cell
// whose output holds it (looking back from the markdown cell first, then forward).
func Numbers(nb *Notebook) []ProseNumber {
	outputs := map[int][]string{} // code cell index -> numbers in its outputs
	for i, c := range nb.Cells {
		if c.CellType == "code" {
			outputs[i] = outputNumber.FindAllString(outputText(c), -1)
		}
	}
	var order []int // code cells, nearest first, for the markdown cell at i
	nearest := func(i int) []int {
		order = order[:0]
		for j := i - 1; j >= 0; j-- {
			if _, ok := outputs[j]; ok {
				order = append(order, j)
			}
		}
		for j := i + 1; j < len(nb.Cells); j++ {
			if _, ok := outputs[j]; ok {
				order = append(order, j)
			}
		}
		return order
	}
	var found []ProseNumber
	for i, c := range nb.Cells {
		if c.CellType != "markdown" {
			continue
		}
		src := string(c.Source)
		spans := codeSpan.FindAllStringIndex(src, -1)
		for _, m := range proseNumber.FindAllStringSubmatchIndex(src, -1) {
			start, end := m[4], m[1] // from the sign to the % sign
			if m[4] == m[5] {
				start = m[6]
			}
			text := src[start:end]
			n := ProseNumber{Cell: i + 1, Text: text, Kind: NumberPlain, Context: around(src, start, end)}
			value := strings.TrimSuffix(text, "%")
			v, _ := strconv.Atoi(value)
			switch {
			case slices.ContainsFunc(spans, func(s []int) bool { return s[0] < start && end < s[1] }):
				n.Kind = NumberCode
			case referenceWord.MatchString(src[:start]) && !strings.HasSuffix(text, "%"),
				v >= 1900 && v <= 2100 && !strings.Contains(value, ",") && !strings.HasSuffix(text, "%"):
				n.Kind = NumberReference
			}
			for _, j := range nearest(i) {
				if k := slices.IndexFunc(outputs[j], func(o string) bool {
					return supports(value, o, strings.HasSuffix(text, "%"))
				}); k >= 0 {
					n.From, n.Output = j+1, outputs[j][k]
					break
				}
			}
			found = append(found, n)
		}
	}
	return found
}

// around returns the words around src[start:end] on one line, the number in brackets.
func around(src string, start, end int) string {
	from, to := max(0, start-45), min(len(src), end+35)
	for from > 0 && from < start && !isBoundary(src[from]) {
		from++
	}
	for to < len(src) && to > end && !isBoundary(src[to-1]) {
		to--
	}
	s := src[from:start] + "[" + src[start:end] + "]" + src[end:to]
	return strings.Join(strings.Fields(s), " ")
}

func isBoundary(b byte) bool { return b == ' ' || b == '\n' }

// CheckQuoted returns a problem for each number of a markdown cell tagged TagQuotesOutputs that no output of the
// notebook holds (CheckStored includes them).
func CheckQuoted(nb *Notebook) []string {
	var problems []string
	for _, n := range Numbers(nb) {
		c := nb.Cells[n.Cell-1]
		if n.Kind == NumberPlain && n.From == 0 && slices.Contains(c.Metadata.Tags, TagQuotesOutputs) {
			problems = append(problems, fmt.Sprintf("cell %d (%s) quotes %s, which no output holds: %q", n.Cell,
				FirstLine(string(c.Source)), n.Text, n.Context))
		}
	}
	return problems
}

// WriteNumbers lists the numbers of the notebook's prose (Numbers) on w, one a line, for a reader who checks the
// text against the outputs: "cell 35 number 13.3 = 13.3 in cell 34's output: ...", or "NOT IN ANY OUTPUT".
func WriteNumbers(w io.Writer, path string, nb *Notebook) {
	for _, n := range Numbers(nb) {
		from := "NOT IN ANY OUTPUT"
		if n.From > 0 {
			from = fmt.Sprintf("= %s in cell %d's output", n.Output, n.From)
		}
		fmt.Fprintf(w, "%s cell %d %s %s %s: %s\n", path, n.Cell, n.Kind, n.Text, from, n.Context)
	}
}
