package notebook

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/vitnb/vitnb/vitnb/files"
)

// CodeStub is what nbgrader writes in a student's version in place of a Go solution region (the lines from
// "BEGIN SOLUTION" to "END SOLUTION"): package grade reports the panic as "not implemented".
const CodeStub = "// YOUR CODE HERE\npanic(\"not implemented\")"

// RootEnv names the repository (the vitnb module) for the course's copies of the notebooks: their first cell
// replaces the module by "${VITNB_ROOT:-the repository the course was made from}".
const RootEnv = "VITNB_ROOT"

// Students of Course.Check: the instructor's version and the student's version, submitted and graded as two
// students would be.
const (
	SolutionStudent = "vitnb-solution"
	StubStudent     = "vitnb-stub"
)

//go:embed coursescores.py
var scoresScript string

// courseConfig is the course's nbgrader_config.py (written when there is none).
const courseConfig = `# nbgrader's settings for the vitnb notebooks (written by vit notebook course; edit freely).
c = get_config()
c.CourseDirectory.course_id = "vitnb"
# nbgrader's stub for a Go solution region (the kernelspec's language is "go"); package grade reports it as
# "not implemented".
c.ClearSolutions.code_stub = {"go": %s}
# A graded notebook trains small models: a cell may take minutes on 2 cores.
c.Execute.timeout = 1800
`

// CourseOptions says what MakeCourse lays out.
type CourseOptions struct {
	// Dir is the course folder: created when missing; a course made before is brought up to date (source/ and
	// release/ made again, the gradebook and submissions kept).
	Dir string
	// Notebooks are the instructor's notebooks (solutions in place), one assignment each, named after the file.
	Notebooks []string
	// Root is the repository the notebooks import: default, the module root above the first notebook.
	Root string
	// Home is the folder of Setup (DefaultHome when empty): nbgrader is in its virtual environment.
	Home string
	// Log receives nbgrader's output (io.Discard when nil).
	Log io.Writer
}

// Course is an nbgrader course folder that MakeCourse laid out.
type Course struct {
	Dir, Root, Home string
	// Assignments are the course's assignments, in the order of the notebooks.
	Assignments []Assignment
	log         io.Writer
}

// Assignment is one notebook of a course.
type Assignment struct {
	// Name is the assignment's name, the notebook's file name without .ipynb (01_patches).
	Name string
	// Tests are the grade_id of the graded test cells, in order; Points their points.
	Tests  []string
	Points float64
}

// courseStamp records what MakeCourse wrote into source/, so that a file edited in the course folder is not
// overwritten (the instructor edits notebooks/ and makes the course again).
type courseStamp struct {
	SHA256 map[string]string // source path (relative to the course) -> sha256 of what was written
}

const stampFile = ".vitnb-course.json"

// MakeCourse lays out an nbgrader course in o.Dir: nbgrader_config.py with the Go stub (when there is none),
// source/NAME/NAME.ipynb for each notebook with its first cell pointing at the repository (RootEnv), the images
// folder beside the notebooks copied into each assignment, then `nbgrader generate_assignment` makes the
// students' versions in release/. It refuses to overwrite a source notebook edited since it wrote it.
func MakeCourse(ctx context.Context, o CourseOptions) (*Course, error) {
	if len(o.Notebooks) == 0 {
		return nil, errors.New("no notebooks")
	}
	if o.Home == "" {
		o.Home = DefaultHome()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if o.Root == "" {
		if o.Root, err = moduleRoot(filepath.Dir(o.Notebooks[0])); err != nil {
			return nil, err
		}
	}
	if o.Root, err = filepath.Abs(o.Root); err != nil {
		return nil, err
	}
	module, err := modulePath(o.Root)
	if err != nil {
		return nil, err
	}
	c := &Course{Dir: dir, Root: o.Root, Home: o.Home, log: o.Log}
	if _, err := os.Stat(c.nbgrader()); err != nil {
		return nil, fmt.Errorf("nbgrader is not installed (%s): run `vit notebook setup` first", c.nbgrader())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "nbgrader_config.py")
	if _, err := os.Stat(config); errors.Is(err, fs.ErrNotExist) {
		stub, _ := json.Marshal(CodeStub) // a JSON string is a Python string literal
		if err := files.WriteAtomic(config, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, courseConfig, stub)
			return err
		}); err != nil {
			return nil, err
		}
	}
	stamp := courseStamp{SHA256: map[string]string{}}
	if data, err := os.ReadFile(filepath.Join(dir, stampFile)); err == nil {
		if err := json.Unmarshal(data, &stamp); err != nil || stamp.SHA256 == nil {
			return nil, fmt.Errorf("%s: not a course stamp (%v): remove it to make the course again", filepath.Join(dir, stampFile), err)
		}
	}
	for _, path := range o.Notebooks {
		a, err := c.addSource(path, module, &stamp)
		if err != nil {
			return nil, err
		}
		c.Assignments = append(c.Assignments, a)
	}
	if err := files.WriteJSON(filepath.Join(dir, stampFile), stamp); err != nil {
		return nil, err
	}
	// One nbgrader for every assignment of the course (its start takes seconds): "*" matches source/*.
	if err := c.nbgraderRun(ctx, nil, "generate_assignment", "--force", "*"); err != nil {
		return nil, err
	}
	return c, nil
}

// addSource writes source/NAME/NAME.ipynb and its images.
func (c *Course) addSource(path, module string, stamp *courseStamp) (Assignment, error) {
	name := strings.TrimSuffix(filepath.Base(path), ".ipynb")
	a := Assignment{Name: name}
	data, err := os.ReadFile(path)
	if err != nil {
		return a, err
	}
	nb, err := Parse(data, path)
	if err != nil {
		return a, err
	}
	for _, cell := range nb.Cells {
		if g := cell.Metadata.Nbgrader; g != nil && g.Grade {
			a.Tests = append(a.Tests, g.GradeID)
			a.Points += g.Points
		}
	}
	data, err = pointAtRoot(data, module, c.Root)
	if err != nil {
		return a, fmt.Errorf("%s: %w", path, err)
	}
	rel := filepath.Join("source", name, name+".ipynb")
	dst := filepath.Join(c.Dir, rel)
	if old, err := os.ReadFile(dst); err == nil && !bytes.Equal(old, data) && sha(old) != stamp.SHA256[rel] {
		return a, fmt.Errorf("%s was edited in the course folder: move it away, or edit %s and make the course again", dst, path)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return a, err
	}
	if err := files.WriteAtomic(dst, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return a, err
	}
	stamp.SHA256[rel] = sha(data)
	images := filepath.Join(filepath.Dir(path), "images")
	if st, err := os.Stat(images); err == nil && st.IsDir() {
		if err := copyTree(images, filepath.Join(filepath.Dir(dst), "images")); err != nil {
			return a, err
		}
	}
	return a, nil
}

func sha(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// replaceLine finds the notebooks' first cell, `go mod edit ... -replace=MODULE=FOLDER`, up to the end of its line
// (FOLDER is `$(cd "${GONB_DIR}/.." && pwd)` in notebooks/).
var replaceLine = regexp.MustCompile(`(-replace=([^=\s"]+)=)[^\n"]*(?:"[^\n]*)?`)

// pointAtRoot rewrites the -replace of the module in the notebook's cells to "${VITNB_ROOT:-root}": the course's
// copies are not beside the repository as notebooks/ is. The notebook is otherwise unchanged (byte for byte).
func pointAtRoot(data []byte, module, root string) ([]byte, error) {
	var raw struct {
		Cells []struct {
			Source json.RawMessage `json:"source"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	folder := fmt.Sprintf(`"${%s:-%s}"`, RootEnv, root)
	for _, cell := range raw.Cells {
		var src Text
		if err := json.Unmarshal(cell.Source, &src); err != nil {
			return nil, err
		}
		found := false
		out := replaceLine.ReplaceAllStringFunc(string(src), func(m string) string {
			sub := replaceLine.FindStringSubmatch(m)
			if sub[2] != module {
				return m
			}
			found = true
			return sub[1] + folder
		})
		if !found {
			continue
		}
		var enc bytes.Buffer
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		if err := e.Encode(out); err != nil {
			return nil, err
		}
		// The notebook's JSON is kept as it is but for this one source (a string or a list of lines).
		return bytes.Replace(data, cell.Source, bytes.TrimSpace(enc.Bytes()), 1), nil
	}
	return data, nil
}

// moduleRoot returns the first folder from dir upwards that holds a go.mod.
func moduleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or above: say where the repository is", dir)
		}
		d = parent
	}
}

var moduleLine = regexp.MustCompile(`(?m)^module\s+(\S+)`)

// modulePath reads the module path of root/go.mod.
func modulePath(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("the repository: %w", err)
	}
	m := moduleLine.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("%s: no module line", filepath.Join(root, "go.mod"))
	}
	return string(m[1]), nil
}

// copyTree copies the regular files of src into dst (created), each written atomically; what else is in dst stays.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return files.WriteAtomic(target, func(w io.Writer) error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
	})
}

func (c *Course) bin() string      { return filepath.Join(c.Home, "venv", "bin") }
func (c *Course) nbgrader() string { return filepath.Join(c.bin(), "nbgrader") }

// env is the environment of nbgrader's commands: the kernel's (ToolEnv) with the venv's bin first in PATH
// (autograde runs alembic), and extra.
func (c *Course) env(extra ...string) []string {
	env := ToolEnv(c.Home, extra...)
	for i := len(env) - 1; i >= 0; i-- {
		if strings.HasPrefix(env[i], "PATH=") {
			env = append(env, "PATH="+c.bin()+string(os.PathListSeparator)+strings.TrimPrefix(env[i], "PATH="))
			break
		}
	}
	return env
}

func (c *Course) nbgraderRun(ctx context.Context, extraEnv []string, args ...string) error {
	return step(ctx, c.log, c.Dir, c.env(extraEnv...), c.nbgrader(), args...)
}

// Describe writes what the course holds and how to hand out, collect and grade.
func (c *Course) Describe(w io.Writer) {
	fmt.Fprintf(w, "nbgrader course in %s: %d assignments (source/: the instructor's versions; release/: the students')\n",
		c.Dir, len(c.Assignments))
	for _, a := range c.Assignments {
		fmt.Fprintf(w, "  %-16s %d graded test cells, %g points\n", a.Name, len(a.Tests), a.Points)
	}
	fmt.Fprintf(w, `the notebooks find vitnb at $%s, else %s; students need the gonb kernel (vit notebook setup)
nbgrader's commands, run in %s with its venv first in PATH:
  export PATH=%s:$PATH
  hand out: release/ASSIGNMENT/ (a copy, or nbgrader release_assignment ASSIGNMENT with an exchange)
  collect:  nbgrader collect ASSIGNMENT (exchange), or put files in submitted/STUDENT/ASSIGNMENT/
  grade:    nbgrader autograde ASSIGNMENT
  review:   nbgrader formgrader (or JupyterLab's Formgrader tab), then nbgrader generate_feedback ASSIGNMENT
see notebooks/COURSE.md
`, RootEnv, c.Root, c.Dir, c.bin())
}

// Score is one graded test cell of one assignment, as nbgrader's gradebook has it after Course.Check.
type Score struct {
	Assignment, Test string
	Points           float64
	// Solution and Stub are the scores of the instructor's version and of the student's version (stubs).
	Solution, Stub float64
}

// CheckResult is what Course.Check found.
type CheckResult struct {
	Scores []Score
	// Problems are failures: a point lost by the solution, a point earned by a stub, a cell outside the tests
	// that failed, a notebook that did not run to the end.
	Problems []string
	// Skipped are the assignments without graded cells (nothing to grade: not run).
	Skipped []string
	Seconds float64
}

// Check grades the course against itself: for each assignment with graded cells, the instructor's version and
// the students' version are submitted as two students (SolutionStudent, StubStudent), autograded by nbgrader
// with the gonb kernel and $VITNB_BUDGET=budget, and their scores read from the gradebook. The solution must
// score every point, the stubs none, and every cell outside the graded tests must run without an error in both.
func (c *Course) Check(ctx context.Context, budget string) (*CheckResult, error) {
	if err := CheckBudget(budget); err != nil {
		return nil, err
	}
	if budget == "" {
		budget = "quick"
	}
	start := time.Now()
	res := &CheckResult{}
	var graded []Assignment
	for _, student := range []string{SolutionStudent, StubStudent} { // what an earlier Check submitted
		if err := os.RemoveAll(filepath.Join(c.Dir, "submitted", student)); err != nil {
			return nil, err
		}
	}
	for _, a := range c.Assignments {
		if len(a.Tests) == 0 {
			res.Skipped = append(res.Skipped, a.Name)
			continue
		}
		graded = append(graded, a)
		for student, from := range map[string]string{SolutionStudent: "source", StubStudent: "release"} {
			if err := copyTree(filepath.Join(c.Dir, from, a.Name), filepath.Join(c.Dir, "submitted", student, a.Name)); err != nil {
				return nil, err
			}
		}
	}
	if len(graded) == 0 {
		res.Seconds = time.Since(start).Seconds()
		return res, nil
	}
	// One nbgrader for both students and every graded assignment; only these two students (a course's real
	// submissions beside them are left alone).
	if err := c.nbgraderRun(ctx, []string{"VITNB_BUDGET=" + budget}, "autograde", "--force", "--student", "vitnb-*", "*"); err != nil {
		return nil, err
	}
	scores, err := c.scores(ctx)
	if err != nil {
		return nil, err
	}
	if res.Scores, res.Problems, err = c.judge(graded, scores); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// judge compares the gradebook's scores ((student, assignment, grade_id) -> (score, max)) with what they must be,
// and reads the autograded notebooks for failures outside the tests.
func (c *Course) judge(graded []Assignment, scores map[[3]string][2]float64) ([]Score, []string, error) {
	var out []Score
	var problems []string
	for _, a := range graded {
		for _, test := range a.Tests {
			sol, ok1 := scores[[3]string{SolutionStudent, a.Name, test}]
			stub, ok2 := scores[[3]string{StubStudent, a.Name, test}]
			if !ok1 || !ok2 {
				problems = append(problems, fmt.Sprintf("%s: %s: no score in the gradebook", a.Name, test))
				continue
			}
			s := Score{Assignment: a.Name, Test: test, Points: sol[1], Solution: sol[0], Stub: stub[0]}
			if s.Solution != s.Points {
				problems = append(problems, fmt.Sprintf("%s: %s: the solution scores %g of %g", a.Name, test, s.Solution, s.Points))
			}
			if s.Stub != 0 {
				problems = append(problems, fmt.Sprintf("%s: %s: the stub scores %g of %g", a.Name, test, s.Stub, s.Points))
			}
			out = append(out, s)
		}
		for _, student := range []string{SolutionStudent, StubStudent} {
			path := filepath.Join(c.Dir, "autograded", student, a.Name, a.Name+".ipynb")
			ps, err := untestedFailures(path)
			if err != nil {
				return nil, nil, err
			}
			for _, p := range ps {
				problems = append(problems, fmt.Sprintf("%s (%s's version): %s", a.Name, versionName(student), p))
			}
		}
	}
	return out, problems, nil
}

func versionName(student string) string {
	if student == SolutionStudent {
		return "the instructor"
	}
	return "the student"
}

// untestedFailures returns the failures in an autograded notebook outside its graded test cells, and the code
// cells that did not run (the kernel died or the run broke off).
func untestedFailures(path string) ([]string, error) {
	nb, err := Read(path)
	if err != nil {
		return nil, err
	}
	tests := map[int]bool{}
	var out []string
	for i, cell := range nb.Cells {
		if g := cell.Metadata.Nbgrader; g != nil && g.Grade {
			tests[i+1] = true
		}
		if cell.CellType == "code" && strings.TrimSpace(string(cell.Source)) != "" && cell.ExecutionCount == nil {
			out = append(out, fmt.Sprintf("cell %d (%s) did not run", i+1, FirstLine(string(cell.Source))))
		}
	}
	for _, p := range CheckOutputs(nb) {
		if !tests[p.Cell] {
			out = append(out, p.String())
		}
	}
	return out, nil
}

// scores reads the gradebook: (student, assignment, grade_id) -> (score, max score).
func (c *Course) scores(ctx context.Context) (map[[3]string][2]float64, error) {
	var buf bytes.Buffer
	if err := step(ctx, io.MultiWriter(&buf), c.Dir, c.env(), filepath.Join(c.bin(), "python"), "-c", scoresScript); err != nil {
		return nil, fmt.Errorf("reading the gradebook: %w\n%s", err, buf.String())
	}
	var rows []struct {
		Student, Assignment, Grade string
		Score, Max                 float64
	}
	// The script prints one JSON line last; step's own "$ ..." line comes first.
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rows); err != nil {
		return nil, fmt.Errorf("reading the gradebook: %w\n%s", err, buf.String())
	}
	m := map[[3]string][2]float64{}
	for _, r := range rows {
		m[[3]string{r.Student, r.Assignment, r.Grade}] = [2]float64{r.Score, r.Max}
	}
	return m, nil
}

// Report writes the scores as a table, then the skipped assignments and the problems.
func (r *CheckResult) Report(w io.Writer) {
	if len(r.Scores) > 0 {
		fmt.Fprintf(w, "%-16s %-28s %7s %9s %5s\n", "assignment", "test cell", "points", "solution", "stub")
	}
	for _, s := range r.Scores {
		fmt.Fprintf(w, "%-16s %-28s %7g %9g %5g\n", s.Assignment, s.Test, s.Points, s.Solution, s.Stub)
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "no graded cells (not run): %s\n", strings.Join(r.Skipped, ", "))
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "FAIL", p)
	}
	fmt.Fprintf(w, "graded in %.0fs\n", r.Seconds)
}

// RunCourse is `vit notebook course`: it makes the course (MakeCourse; o.Notebooks default notebooks/*.ipynb), says
// how to use it on w, and with a budget (not "") grades it against itself (Course.Check) and reports the scores:
// the error counts the problems.
func RunCourse(ctx context.Context, o CourseOptions, budget string, w io.Writer) error {
	if err := CheckBudget(budget); err != nil {
		return err
	}
	if len(o.Notebooks) == 0 {
		nbs, err := filepath.Glob(filepath.Join("notebooks", "*.ipynb"))
		if err != nil || len(nbs) == 0 {
			return errors.New("no notebooks named and none in notebooks/ (run it in the repository)")
		}
		o.Notebooks = nbs
	}
	c, err := MakeCourse(ctx, o)
	if err != nil {
		return err
	}
	c.Describe(w)
	if budget == "" {
		return nil
	}
	res, err := c.Check(ctx, budget)
	if err != nil {
		return err
	}
	res.Report(w)
	if len(res.Problems) > 0 {
		return fmt.Errorf("%d problems in the graded course (FAIL lines above)", len(res.Problems))
	}
	return nil
}
