package viz

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Table returns an HTML table with a header row; cells are escaped. Inline styles only, so that it renders
// the same in JupyterLab, in a stored notebook on GitHub and in exported HTML.
func Table(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;font-family:monospace;font-size:90%">`)
	if len(header) > 0 {
		b.WriteString("<tr>")
		for _, h := range header {
			fmt.Fprintf(&b, `<th style="border-bottom:1px solid #888;padding:2px 8px;text-align:left">%s</th>`, html.EscapeString(h))
		}
		b.WriteString("</tr>")
	}
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(&b, `<td style="padding:2px 8px;text-align:right">%s</td>`, html.EscapeString(c))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return b.String()
}

// ConfusionHTML returns a confusion matrix (counts[true][predicted]) as an HTML table, each cell shaded by
// its share of the true class's examples, with per-class accuracy in the last column.
func ConfusionHTML(counts [][]int, classes []string) string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;font-family:monospace;font-size:85%">`)
	b.WriteString(`<tr><th style="padding:2px 6px">true \ predicted</th>`)
	for j := range counts {
		fmt.Fprintf(&b, `<th style="padding:2px 6px">%s</th>`, html.EscapeString(className(classes, j)))
	}
	b.WriteString(`<th style="padding:2px 6px">accuracy</th></tr>`)
	for i, row := range counts {
		total := 0
		for _, c := range row {
			total += c
		}
		fmt.Fprintf(&b, `<tr><th style="padding:2px 6px;text-align:right">%s</th>`, html.EscapeString(className(classes, i)))
		for _, c := range row {
			share := 0.0
			if total > 0 {
				share = float64(c) / float64(total)
			}
			shade := uint8(math.Round(255 * (1 - 0.8*share)))
			fg := "#000"
			if share > 0.6 {
				fg = "#fff"
			}
			fmt.Fprintf(&b, `<td style="padding:2px 6px;text-align:right;background:#%02x%02xff;color:%s">%d</td>`,
				shade, shade, fg, c)
		}
		acc := 0.0
		if total > 0 && i < len(row) {
			acc = 100 * float64(row[i]) / float64(total)
		}
		fmt.Fprintf(&b, `<td style="padding:2px 6px;text-align:right">%.1f%%</td></tr>`, acc)
	}
	b.WriteString("</table>")
	return b.String()
}

func className(classes []string, i int) string {
	if i < len(classes) {
		return classes[i]
	}
	return fmt.Sprint(i)
}

// ProgressHTML returns a progress bar as one line of HTML: a bar of 30 characters filled in proportion to done
// of total, the count, then text (escaped). It is made of plain characters in a <code> element, without style
// sheets or scripts, so it reads the same in a live notebook and in a stored one.
func ProgressHTML(done, total int, text string) string {
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = min(max(float64(done)/float64(total), 0), 1)
	}
	full := int(math.Round(frac * width))
	bar := strings.Repeat("█", full) + strings.Repeat("░", width-full)
	return fmt.Sprintf(`<code>%s %3.0f%% %d/%d %s</code>`, bar, 100*frac, done, total, html.EscapeString(text))
}
