package nb

import (
	"fmt"
	"html"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/training"
)

// PaperCitation is the source of the paper's numbers in Table2.
const PaperCitation = `A. Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale", ` +
	`ICLR 2021, Table 2 (top-1 accuracy after fine-tuning; mean over three fine-tuning runs, the paper also gives ` +
	`standard deviations)`

// PaperModels are the columns of the paper's Table 2: models, with the data they were pretrained on.
var PaperModels = []string{"ViT-H/14 (JFT-300M)", "ViT-L/16 (JFT-300M)", "ViT-L/16 (ImageNet-21k)",
	"BiT-L ResNet152x4 (JFT-300M)", "Noisy Student EfficientNet-L2 (JFT-300M)"}

// PaperRow is one benchmark of the paper's Table 2.
type PaperRow struct {
	// Benchmark as the paper names it.
	Benchmark string
	// Datasets are the names (package datasets) of the data sets whose results belong to this row.
	Datasets []string
	// Accuracy of each of PaperModels in percent, "" where the paper has none.
	Accuracy [5]string
}

// PaperTable2 is the paper's Table 2 (DESIGN.md section 7).
var PaperTable2 = []PaperRow{
	{"ImageNet", []string{"imagenet"}, [5]string{"88.55", "87.76", "85.30", "87.54", "88.5"}},
	{"ImageNet ReaL", nil, [5]string{"90.72", "90.54", "88.62", "90.54", "90.55"}},
	{"CIFAR-10", []string{"cifar10"}, [5]string{"99.50", "99.42", "99.15", "99.37", ""}},
	{"CIFAR-100", []string{"cifar100"}, [5]string{"94.55", "93.90", "93.25", "93.51", ""}},
	{"Oxford-IIIT Pets", []string{"pets"}, [5]string{"97.56", "97.32", "94.67", "96.62", ""}},
	{"Oxford Flowers-102", []string{"flowers102"}, [5]string{"99.68", "99.74", "99.61", "99.63", ""}},
	{"VTAB (19 tasks)", nil, [5]string{"77.63", "76.28", "72.72", "76.29", ""}},
}

// PaperCoreDays is the pretraining compute of each of PaperModels in TPUv3-core-days (Table 2's last row).
var PaperCoreDays = [5]string{"2.5k", "0.68k", "0.23k", "9.9k", "12.3k"}

// Scales are the columns of the user's own numbers in Table2: runs on a CPU, runs on a GPU, and fine-tunings of
// public ImageNet-21k weights (the paper's protocol, on any backend).
var Scales = []string{"your runs on a CPU", "your runs on a GPU", "your fine-tunings of public ImageNet-21k weights"}

// scaleOf returns the index in Scales of a fine-tuning's column.
func scaleOf(r *training.Results) int {
	switch b := strings.ToLower(r.Backend); {
	case r.Weights != "":
		return 2
	case strings.Contains(b, "cuda") || strings.Contains(b, "gpu") || strings.Contains(b, "rocm"):
		return 1
	}
	return 0
}

// Measured is the best fine-tuning result of one benchmark at one scale, with what it cost.
type Measured struct {
	// Top1 accuracy on Split (0 to 1); Runs is how many results there were to choose from.
	Top1  float64
	Runs  int
	Split string
	// Model, Data and TrainExamples of the fine-tuning.
	Model, Data   string
	TrainExamples int
	// WallSeconds and ImagesSeen of the fine-tuning plus its pretraining when that is a vitnb run whose results
	// file was found (Pretrained says so); Backend of the fine-tuning.
	WallSeconds float64
	ImagesSeen  int
	Backend     string
	Pretrained  bool
	// Weights is the public checkpoint fine-tuned, if any; Path the results file.
	Weights, Path string
	// Compared are the runs of this cell that the best was chosen from (itself included), best first.
	Compared []Candidate
}

// Candidate is one run that a cell of Table2 read: its run folder's name and its top-1 accuracy.
type Candidate struct {
	Run  string
	Top1 float64
}

// Table2Row is a row of Table2: a benchmark of the paper (or a data set the user fine-tuned on that the paper
// does not report), the paper's numbers and the user's, one per Scales (nil: not run).
type Table2Row struct {
	// Benchmark is the paper's name, or the data set's (package datasets) for a row the paper does not have;
	// Title is what the table shows for such a row.
	Benchmark, Title string
	Paper            [5]string
	InPaper          bool
	Yours            []*Measured
}

// Table2 is the paper's Table 2 beside the user's measurements, gathered from results files.
type Table2 struct {
	Rows []Table2Row
	// Found is the number of results files read; Used of them fine-tunings in the table.
	Found, Used int
	// Skipped are the results files that could not be read.
	Skipped []error
	// Roots are the folders searched.
	Roots []string
}

// BuildTable2 gathers the results files under roots (training.FindResults) into Table2: each fine-tuning
// ("finetune", or "eval" of a fine-tuned run folder) on a test split goes to the row of its data set and the
// column of its scale; the best top-1 accuracy of a cell is kept. Its cost adds the pretraining run's when
// that run's results file is in the run folder it started from.
func BuildTable2(roots ...string) (*Table2, error) {
	found, skipped, err := training.FindResults(roots...)
	if err != nil {
		return nil, err
	}
	t := &Table2{Found: len(found), Skipped: skipped, Roots: roots}
	for _, p := range PaperTable2 {
		t.Rows = append(t.Rows, Table2Row{Benchmark: p.Benchmark, Paper: p.Accuracy, InPaper: true,
			Yours: make([]*Measured, len(Scales))})
	}
	rowOf := func(data string) *Table2Row {
		for i, p := range PaperTable2 {
			for _, d := range p.Datasets {
				if d == data {
					return &t.Rows[i]
				}
			}
		}
		for i := len(PaperTable2); i < len(t.Rows); i++ {
			if t.Rows[i].Benchmark == data {
				return &t.Rows[i]
			}
		}
		t.Rows = append(t.Rows, Table2Row{Benchmark: data, Title: datasetTitle(data), Yours: make([]*Measured, len(Scales))})
		return &t.Rows[len(t.Rows)-1]
	}
	for _, f := range found {
		m, ok := measure(f)
		if !ok {
			continue
		}
		t.Used++
		row := rowOf(m.Data)
		col := scaleOf(m.trained)
		if old := row.Yours[col]; old != nil {
			m.Runs += old.Runs
			m.Compared = append(m.Compared, old.Compared...)
			sort.SliceStable(m.Compared, func(i, j int) bool { return m.Compared[i].Top1 > m.Compared[j].Top1 })
			if old.Top1 >= m.Top1 {
				old.Runs, old.Compared = m.Runs, m.Compared
				continue
			}
		}
		row.Yours[col] = &m.Measured
	}
	extra := t.Rows[len(PaperTable2):]
	sort.Slice(extra, func(i, j int) bool { return extra[i].Benchmark < extra[j].Benchmark })
	return t, nil
}

// measured is a Measured with the training results that place it.
type measured struct {
	Measured
	trained *training.Results
}

// measure turns a results file into a measurement, if it is a fine-tuning evaluated on a test split.
func measure(f training.FoundResults) (measured, bool) {
	r, trained := f.Results, f.Results
	if r.Command == "eval" {
		if r.From == "" {
			return measured{}, false
		}
		t, err := training.ReadResults(filepath.Join(r.From, training.ResultsFile))
		if err != nil {
			return measured{}, false
		}
		trained = t
	}
	if trained.Command != "finetune" || r.Metrics == nil || (r.EvalSplit != "test" && r.EvalSplit != "val") {
		return measured{}, false
	}
	m := measured{trained: trained, Measured: Measured{Top1: r.Metrics.Top1, Runs: 1, Split: r.EvalSplit,
		Model: trained.Model.Name, Data: r.Data, TrainExamples: trained.TrainExamples,
		WallSeconds: trained.WallSeconds, ImagesSeen: trained.ImagesSeen(), Backend: trained.Backend,
		Weights: trained.Weights, Path: f.Path,
		Compared: []Candidate{{Run: filepath.Base(filepath.Dir(f.Path)), Top1: r.Metrics.Top1}}}}
	if trained.From != "" {
		if pre, err := training.ReadResults(filepath.Join(trained.From, training.ResultsFile)); err == nil {
			m.WallSeconds += pre.WallSeconds
			m.ImagesSeen += pre.ImagesSeen()
			m.Pretrained = true
		}
	}
	return m, true
}

// HTML returns the table as HTML with inline styles only (it renders the same stored): a column per paper model
// and per scale of the user's runs, a row per benchmark; each of the user's cells gives the accuracy and under
// it what it cost (wall time, backend, images seen); the last row gives the paper's pretraining compute.
func (t *Table2) HTML() string {
	var b strings.Builder
	th := `<th style="border-bottom:1px solid #888;padding:3px 8px;text-align:center;vertical-align:bottom">`
	td := `<td style="padding:3px 8px;text-align:center;vertical-align:top">`
	tdYours := `<td style="padding:3px 8px;text-align:center;vertical-align:top;background:#f3f7fb">`
	b.WriteString(`<table style="border-collapse:collapse;font-size:90%">`)
	b.WriteString(`<tr><th style="padding:3px 8px"></th><th colspan="5" style="padding:3px 8px;text-align:center">` +
		`the paper (fine-tuned, top-1 %)</th><th colspan="3" style="padding:3px 8px;text-align:center;background:#f3f7fb">` +
		`yours (best run, top-1 %), with its cost</th></tr>`)
	b.WriteString("<tr>" + th + "benchmark</th>")
	for _, m := range PaperModels {
		b.WriteString(th + html.EscapeString(m) + "</th>")
	}
	for _, s := range Scales {
		b.WriteString(strings.Replace(th, "text-align:center", "text-align:center;background:#f3f7fb", 1) +
			html.EscapeString(s) + "</th>")
	}
	b.WriteString("</tr>")
	for _, r := range t.Rows {
		name := html.EscapeString(r.Benchmark)
		if !r.InPaper {
			name = html.EscapeString(r.Title) + `<br><small style="color:#777">not in the paper</small>`
		}
		b.WriteString(`<tr><th style="padding:3px 8px;text-align:left;vertical-align:top">` + name + "</th>")
		for _, v := range r.Paper {
			if v == "" {
				v = "–"
			}
			b.WriteString(td + v + "</td>")
		}
		for _, m := range r.Yours {
			b.WriteString(tdYours + m.cellHTML() + "</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString(`<tr><th style="border-top:1px solid #888;padding:3px 8px;text-align:left">pretraining compute</th>`)
	for _, d := range PaperCoreDays {
		b.WriteString(`<td style="border-top:1px solid #888;padding:3px 8px;text-align:center">` + d +
			` TPUv3-core-days</td>`)
	}
	for range Scales {
		b.WriteString(`<td style="border-top:1px solid #888;padding:3px 8px;text-align:center;background:#f3f7fb">` +
			`in each cell</td>`)
	}
	b.WriteString("</tr></table>")
	fmt.Fprintf(&b, `<p style="font-size:85%%">Paper: %s. Yours: %d results files under %s; %d of them are `+
		`fine-tunings evaluated on a test split (the table keeps the best of each cell). Cost = wall time of the `+
		`fine-tuning plus its pretraining when that was a vitnb run, backend, images seen in training.`,
		html.EscapeString(PaperCitation), t.Found, html.EscapeString(strings.Join(t.Roots, ", ")), t.Used)
	if len(t.Skipped) > 0 {
		fmt.Fprintf(&b, " %d files could not be read, e.g. %s.", len(t.Skipped), html.EscapeString(t.Skipped[0].Error()))
	}
	b.WriteString("</p>")
	b.WriteString(t.runsHTML())
	return b.String()
}

// runsHTML names the runs each filled cell of the user's columns read, the chosen one first and in bold, with
// their accuracy.
func (t *Table2) runsHTML() string {
	var items []string
	for _, r := range t.Rows {
		title := r.Benchmark
		if !r.InPaper {
			title = r.Title
		}
		for i, m := range r.Yours {
			if m == nil {
				continue
			}
			var runs []string
			for j, c := range m.Compared {
				run := fmt.Sprintf("%s (%.2f)", html.EscapeString(c.Run), 100*c.Top1)
				if j == 0 {
					run = "<b>" + run + "</b>"
				}
				runs = append(runs, run)
			}
			items = append(items, fmt.Sprintf("<li>%s, %s: %s</li>", html.EscapeString(title), html.EscapeString(Scales[i]),
				strings.Join(runs, ", ")))
		}
	}
	if len(items) == 0 {
		return ""
	}
	return `<p style="font-size:85%">The runs each of your cells read, the one it shows first:</p><ul style="font-size:85%">` +
		strings.Join(items, "") + "</ul>"
}

// cellHTML is a user's cell: accuracy, then its cost in small type; "not run" when nil.
func (m *Measured) cellHTML() string {
	if m == nil {
		return `<span style="color:#999">not run</span>`
	}
	acc := fmt.Sprintf("<b>%.2f</b>", 100*m.Top1)
	if m.Split != "test" {
		acc += " (" + html.EscapeString(m.Split) + ")"
	}
	var cost []string
	cost = append(cost, html.EscapeString(m.Model), fmt.Sprintf("%s train images", count(m.TrainExamples)))
	wall := Duration(m.WallSeconds)
	switch {
	case m.Weights != "":
		wall += " + public pretraining (not measured)"
	case m.Pretrained:
		wall += " incl. pretraining"
	default:
		wall += " (pretraining not found)"
	}
	cost = append(cost, wall+" on "+html.EscapeString(m.Backend), count(m.ImagesSeen)+" images seen")
	if m.Runs > 1 {
		cost = append(cost, fmt.Sprintf("best of %d runs", m.Runs))
	}
	return acc + `<br><small style="color:#555">` + strings.Join(cost, "<br>") + "</small>"
}

// Duration formats seconds as "45s", "3m12s" or "2h05m".
func Duration(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// datasetTitle is a data set's title up to its first parenthesis ("MNIST handwritten digits"), or its name.
func datasetTitle(name string) string {
	info, err := datasets.Lookup(name)
	if err != nil || info.Title == "" {
		return name
	}
	title, _, _ := strings.Cut(info.Title, " (")
	return title
}

// count formats a number of images: 950, 12.8k, 1.5M.
func count(n int) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e3), ".0") + "k"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e6), ".0") + "M"
}
