package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// ipynb is the part of a Jupyter notebook (nbformat 4) that the checks read.
type ipynb struct {
	Cells    []ipynbCell `json:"cells"`
	Metadata struct {
		Vitnb *notebookStamp `json:"vitnb"`
	} `json:"metadata"`
}

type ipynbCell struct {
	CellType       string        `json:"cell_type"`
	Source         multiline     `json:"source"`
	Outputs        []ipynbOutput `json:"outputs"`
	ExecutionCount *int          `json:"execution_count"`
}

type ipynbOutput struct {
	OutputType string    `json:"output_type"`
	Name       string    `json:"name"` // stream: stdout or stderr
	Text       multiline `json:"text"`
	EName      string    `json:"ename"`
	EValue     string    `json:"evalue"`
	Traceback  []string  `json:"traceback"`
}

// notebookStamp is what `vit notebook run -write` records in the notebook's metadata ("vitnb"), so that
// `vit notebook check` can tell whether the stored outputs come from the current code.
type notebookStamp struct {
	Budget        string  `json:"budget"`
	SourcesSHA256 string  `json:"sources_sha256"`
	Seconds       float64 `json:"seconds"`
	// Error says why the run broke off (a cell's time limit, the kernel died); empty when it ran to the end.
	Error string `json:"error,omitempty"`
}

// multiline is a notebook string, stored either as one string or as a list of lines.
type multiline string

func (m *multiline) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*m = multiline(s)
		return nil
	}
	var lines []string
	if err := json.Unmarshal(data, &lines); err != nil {
		return fmt.Errorf("notebook text is neither a string nor a list of strings: %w", err)
	}
	*m = multiline(strings.Join(lines, ""))
	return nil
}

// readNotebook parses an .ipynb file.
func readNotebook(path string) (*ipynb, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseNotebook(data, path)
}

func parseNotebook(data []byte, path string) (*ipynb, error) {
	var nb ipynb
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, fmt.Errorf("%s is not a Jupyter notebook: %w", path, err)
	}
	return &nb, nil
}

// sourcesHash identifies the code of a notebook: the SHA-256 of its code cells' sources.
func (nb *ipynb) sourcesHash() string {
	h := sha256.New()
	for _, c := range nb.Cells {
		if c.CellType == "code" {
			h.Write([]byte(c.Source))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cellProblem is an error found in the outputs of one cell.
type cellProblem struct {
	// Cell is the 1-based index of the cell in the notebook (markdown cells count).
	Cell int
	// Head is the first line of the cell's source, to find it.
	Head string
	// What is the offending output, one line.
	What string
}

func (p cellProblem) String() string {
	return fmt.Sprintf("cell %d (%s): %s", p.Cell, p.Head, p.What)
}

// failurePatterns are lines that GoNB prints when a cell's program fails without a compile error: GoNB
// reports those as ordinary output, so the cell does not count as failed (DESIGN.md section 4).
var failurePatterns = regexp.MustCompile(`(?m)^(panic: .*|fatal error: .*|exit status \d+.*|signal: .*)$`)

// checkOutputs returns the problems in the outputs of an executed notebook: error outputs (compile errors,
// kernel errors), and the lines `panic:`, `fatal error:`, `exit status N` and `signal:` in a cell's text.
func checkOutputs(nb *ipynb) []cellProblem {
	var problems []cellProblem
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		head := firstLine(string(c.Source))
		// A stream arrives in fragments ("panic: ", "boom", "\n"), stored as separate outputs: join each stream
		// (stdout, stderr) before looking for lines, as notebook front-ends display them.
		streams := map[string]*strings.Builder{}
		var names []string
		for _, o := range c.Outputs {
			switch o.OutputType {
			case "error":
				what := o.EName + ": " + errorSummary(o)
				problems = append(problems, cellProblem{Cell: i + 1, Head: head, What: what})
			case "stream":
				b := streams[o.Name]
				if b == nil {
					b = &strings.Builder{}
					streams[o.Name] = b
					names = append(names, o.Name)
				}
				b.WriteString(string(o.Text))
			}
		}
		for _, name := range names {
			for _, m := range failurePatterns.FindAllString(stripANSI(streams[name].String()), -1) {
				problems = append(problems, cellProblem{Cell: i + 1, Head: head, What: strings.TrimSpace(m)})
			}
		}
	}
	return problems
}

// checkStored checks a notebook as stored in the repository: its outputs are clean, every code cell ran, and
// the stamp of `vit notebook run -write` matches the current code (the pictures are fresh).
func checkStored(nb *ipynb) []string {
	var problems []string
	for _, p := range checkOutputs(nb) {
		problems = append(problems, p.String())
	}
	for i, c := range nb.Cells {
		if c.CellType == "code" && strings.TrimSpace(string(c.Source)) != "" && c.ExecutionCount == nil {
			problems = append(problems, fmt.Sprintf("cell %d (%s) was not executed", i+1, firstLine(string(c.Source))))
		}
	}
	switch {
	case nb.Metadata.Vitnb == nil:
		problems = append(problems, "no vitnb stamp in the metadata: the outputs were not written by `vit notebook run -write`")
	case nb.Metadata.Vitnb.Error != "":
		problems = append(problems, "the run that wrote the outputs broke off: "+nb.Metadata.Vitnb.Error)
	case nb.Metadata.Vitnb.SourcesSHA256 != nb.sourcesHash():
		problems = append(problems, "the code changed since the outputs were written: run `vit notebook run -write` on it")
	}
	return problems
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

func stripANSI(s string) string { return ansiEscape.ReplaceAllString(s, "") }

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > 60 {
				l = l[:57] + "..."
			}
			return l
		}
	}
	return "empty"
}

// errorSummary returns the message of an error output on one line: GoNB puts the compiler's messages in
// evalue, one per line after a "# package" line; the traceback repeats them with the cell's code.
func errorSummary(o ipynbOutput) string {
	text := o.EValue
	if strings.TrimSpace(text) == "" {
		text = strings.Join(o.Traceback, "\n")
	}
	var parts []string
	for _, l := range strings.Split(stripANSI(text), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "# ") {
			parts = append(parts, l)
		}
	}
	s := strings.Join(parts, " | ")
	if len(s) > 400 {
		s = s[:397] + "..."
	}
	return s
}
