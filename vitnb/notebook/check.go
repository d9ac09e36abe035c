package notebook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
)

// MaxFileSize is the largest notebook file Read accepts: 64 MiB, about a hundred times the largest notebook of
// the repository (03_attention.ipynb, 0.5 MB with its pictures), so that a device file or a huge file is refused
// before it is read instead of filling the memory.
const MaxFileSize = 64 << 20

// Notebook is the part of a Jupyter notebook (nbformat 4) that the checks read.
type Notebook struct {
	Cells    []Cell `json:"cells"`
	Metadata struct {
		// Vitnb is the stamp of `vit notebook run -write`; nil when the outputs were not written by it.
		Vitnb *Stamp `json:"vitnb"`
	} `json:"metadata"`
}

// Cell is one cell of a notebook.
type Cell struct {
	CellType       string   `json:"cell_type"` // code, markdown or raw
	Source         Text     `json:"source"`
	Outputs        []Output `json:"outputs"`
	ExecutionCount *int     `json:"execution_count"` // nil when the cell never ran
	Metadata       struct {
		// Nbgrader marks the cells of a course assignment (Course); nil in other cells.
		Nbgrader *NbgraderCell `json:"nbgrader"`
		Tags     []string      `json:"tags"` // see TagShowsPicture, TagMayShowNothing, TagQuotesOutputs
	} `json:"metadata"`
}

// NbgraderCell is a cell's nbgrader metadata: a solution region (Solution) or a graded test (Grade, Points).
type NbgraderCell struct {
	GradeID  string  `json:"grade_id"`
	Grade    bool    `json:"grade"`
	Solution bool    `json:"solution"`
	Locked   bool    `json:"locked"`
	Points   float64 `json:"points"`
}

// Output is one output of a code cell.
type Output struct {
	OutputType string   `json:"output_type"` // stream, display_data, execute_result or error
	Name       string   `json:"name"`        // stream: stdout or stderr
	Text       Text     `json:"text"`
	EName      string   `json:"ename"`
	EValue     string   `json:"evalue"`
	Traceback  []string `json:"traceback"`
	// Data holds a display_data or execute_result output by MIME type (image/png, text/html, text/markdown...).
	Data map[string]json.RawMessage `json:"data"`
}

// Stamp is what `vit notebook run -write` records in the notebook's metadata ("vitnb"), so that CheckStored
// can tell whether the stored outputs come from the current code.
type Stamp struct {
	Budget        string  `json:"budget"`
	SourcesSHA256 string  `json:"sources_sha256"`
	Seconds       float64 `json:"seconds"`
	// Error says why the run broke off (a cell's time limit, the kernel died); empty when it ran to the end.
	Error string `json:"error,omitempty"`
}

// Text is a notebook string, stored either as one string or as a list of lines.
type Text string

// UnmarshalJSON accepts a string or a list of strings (joined).
func (m *Text) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*m = Text(s)
		return nil
	}
	var lines []string
	if err := json.Unmarshal(data, &lines); err != nil {
		return fmt.Errorf("notebook text is neither a string nor a list of strings: %w", err)
	}
	*m = Text(strings.Join(lines, ""))
	return nil
}

// Read parses an .ipynb file. It refuses, before reading, what is not a regular file (a device, a pipe, a
// folder) and files larger than MaxFileSize; every error names the file.
func Read(path string) (*Notebook, error) {
	// O_NONBLOCK: opening a pipe without a writer would wait forever; it changes nothing for regular files.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s): not a notebook", path, info.Mode().Type())
	}
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s is %d bytes, more than a notebook may be (%d MiB)", path, info.Size(), MaxFileSize>>20)
	}
	// The size can change between Stat and reading (a file being written): read at most one byte more.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s grew beyond %d MiB while read: not a notebook", path, MaxFileSize>>20)
	}
	return Parse(data, path)
}

// Parse parses the bytes of an .ipynb file; name says where they come from in errors.
func Parse(data []byte, name string) (*Notebook, error) {
	var nb Notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, fmt.Errorf("%s is not a Jupyter notebook: %w", name, err)
	}
	return &nb, nil
}

// SourcesHash identifies the code of a notebook: the SHA-256 of its code cells' sources.
func (nb *Notebook) SourcesHash() string {
	h := sha256.New()
	for _, c := range nb.Cells {
		if c.CellType == "code" {
			h.Write([]byte(c.Source))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Problem is an error found in the outputs of one cell.
type Problem struct {
	// Cell is the 1-based index of the cell in the notebook (markdown cells count).
	Cell int
	// Head is the first line of the cell's source, to find it.
	Head string
	// What is the offending output, one line.
	What string
}

func (p Problem) String() string {
	return fmt.Sprintf("cell %d (%s): %s", p.Cell, p.Head, p.What)
}

// failurePatterns are lines that GoNB prints when a cell's program fails without a compile error: GoNB
// reports those as ordinary output, so the cell does not count as failed (DESIGN.md section 4).
var failurePatterns = regexp.MustCompile(`(?m)^(panic: .*|fatal error: .*|exit status \d+.*|signal: .*)$`)

// CheckOutputs returns the problems in the outputs of an executed notebook: error outputs (compile errors,
// kernel errors), the lines `panic:`, `fatal error:`, `exit status N` and `signal:` in a cell's text, and
// pictures, tables or Markdown that a cell shows but did not store (CheckDisplays).
func CheckOutputs(nb *Notebook) []Problem {
	failed := failures(nb)
	problems := append(failed, checkDisplays(nb, failed)...)
	slices.SortStableFunc(problems, func(a, b Problem) int { return a.Cell - b.Cell })
	return problems
}

// failures returns the problems of CheckOutputs that say a cell failed.
func failures(nb *Notebook) []Problem {
	var problems []Problem
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		head := FirstLine(string(c.Source))
		// A stream arrives in fragments ("panic: ", "boom", "\n"), stored as separate outputs: join each stream
		// (stdout, stderr) before looking for lines, as notebook front-ends display them.
		streams := map[string]*strings.Builder{}
		var names []string
		for _, o := range c.Outputs {
			switch o.OutputType {
			case "error":
				what := o.EName + ": " + errorSummary(o)
				problems = append(problems, Problem{Cell: i + 1, Head: head, What: what})
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
			for _, m := range FailureLines(streams[name].String()) {
				problems = append(problems, Problem{Cell: i + 1, Head: head, What: m})
			}
		}
	}
	return problems
}

// FailureLines returns the lines of a cell's text output that say its program failed (`panic:`, `fatal
// error:`, `exit status N`, `signal:` at the start of a line, after removing terminal colour codes).
func FailureLines(text string) []string {
	var lines []string
	for _, m := range failurePatterns.FindAllString(stripANSI(text), -1) {
		lines = append(lines, strings.TrimSpace(m))
	}
	return lines
}

// CheckStored checks a notebook as stored in the repository: its outputs are clean, every code cell ran, the
// numbers of markdown cells tagged TagQuotesOutputs are in the outputs (CheckQuoted), and the stamp of `vit
// notebook run -write` matches the current code (the pictures are fresh).
func CheckStored(nb *Notebook) []string {
	var problems []string
	for _, p := range CheckOutputs(nb) {
		problems = append(problems, p.String())
	}
	for i, c := range nb.Cells {
		if c.CellType == "code" && strings.TrimSpace(string(c.Source)) != "" && c.ExecutionCount == nil {
			problems = append(problems, fmt.Sprintf("cell %d (%s) was not executed", i+1, FirstLine(string(c.Source))))
		}
	}
	problems = append(problems, CheckQuoted(nb)...)
	switch {
	case nb.Metadata.Vitnb == nil:
		problems = append(problems, "no vitnb stamp in the metadata: the outputs were not written by `vit notebook run -write`")
	case nb.Metadata.Vitnb.Error != "":
		problems = append(problems, "the run that wrote the outputs broke off: "+nb.Metadata.Vitnb.Error)
	case nb.Metadata.Vitnb.SourcesSHA256 != nb.SourcesHash():
		problems = append(problems, "the code changed since the outputs were written: run `vit notebook run -write` on it")
	}
	return problems
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

func stripANSI(s string) string { return ansiEscape.ReplaceAllString(s, "") }

// FirstLine returns the first non-blank line of a cell's source, shortened to 60 characters, or "empty".
func FirstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if r := []rune(l); len(r) > 60 {
				l = string(r[:57]) + "..."
			}
			return l
		}
	}
	return "empty"
}

// errorSummary returns the message of an error output on one line: GoNB puts the compiler's messages in
// evalue, one per line after a "# package" line; the traceback repeats them with the cell's code.
func errorSummary(o Output) string {
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
	if r := []rune(s); len(r) > 400 {
		s = string(r[:397]) + "..."
	}
	return s
}
