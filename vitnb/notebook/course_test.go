package notebook

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeNbgrader makes a Setup home whose nbgrader only appends its arguments and its PATH to a log, and copies
// source/NAME to release/NAME for generate_assignment; it returns the home and the log's path.
func fakeNbgrader(t *testing.T) (home, log string) {
	home = t.TempDir()
	log = filepath.Join(home, "calls.log")
	bin := filepath.Join(home, "venv", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"$* | PATH=$PATH\" >> " + log + "\n" +
		"if [ \"$1\" = generate_assignment ]; then mkdir -p release && cp -r source/* release/; fi\n"
	if err := os.WriteFile(filepath.Join(bin, "nbgrader"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return home, log
}

// TestMakeCourseLayout: the course folder has nbgrader_config.py with the Go stub, source/NAME/NAME.ipynb with
// the first cell pointing at the repository through $VITNB_ROOT and otherwise unchanged, the images beside it,
// generate_assignment run for it with the venv first in PATH; a second run refreshes it, and one after the
// source copy was edited by hand refuses and keeps the edit.
func TestMakeCourseLayout(t *testing.T) {
	home, log := fakeNbgrader(t)
	dir := filepath.Join(t.TempDir(), "course")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	o := CourseOptions{Dir: dir, Notebooks: []string{"testdata/exercise.ipynb"}, Home: home}
	c, err := MakeCourse(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Root != root || len(c.Assignments) != 1 || c.Assignments[0].Name != "exercise" ||
		!slices.Equal(c.Assignments[0].Tests, []string{"test_softmax"}) || c.Assignments[0].Points != 2 {
		t.Errorf("course %+v, want root %s and one assignment, exercise, with test_softmax (2 points)", c, root)
	}
	config, err := os.ReadFile(filepath.Join(dir, "nbgrader_config.py"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(config), `c.ClearSolutions.code_stub = {"go": "// YOUR CODE HERE\npanic(\"not implemented\")"}`) {
		t.Errorf("nbgrader_config.py lacks the Go stub:\n%s", config)
	}
	orig, _ := os.ReadFile("testdata/exercise.ipynb")
	src, err := os.ReadFile(filepath.Join(dir, "source", "exercise", "exercise.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	wantLine := `-replace=github.com/vitnb/vitnb=\"${VITNB_ROOT:-` + root + `}\""`
	if !strings.Contains(string(src), wantLine) {
		t.Errorf("the source copy's first cell does not point at the repository (%s):\n%.600s", wantLine, src)
	}
	oldLine := `-replace=github.com/vitnb/vitnb=$(cd \"${GONB_DIR}/../../..\" && pwd)"`
	if got := strings.Replace(string(src), wantLine, oldLine, 1); got != string(orig) {
		t.Errorf("the source copy differs from the notebook elsewhere than the first cell")
	}
	if _, err := os.Stat(filepath.Join(dir, "source", "exercise", "images", "README.md")); err != nil {
		t.Errorf("images not copied beside the assignment: %v", err)
	}
	calls, _ := os.ReadFile(log)
	if want := "generate_assignment --force * | PATH=" + filepath.Join(home, "venv", "bin") + ":"; !strings.HasPrefix(string(calls), want) {
		t.Errorf("nbgrader calls %q, want %q...", calls, want)
	}

	if _, err := MakeCourse(context.Background(), o); err != nil {
		t.Fatalf("making the course again: %v", err)
	}
	edited := filepath.Join(dir, "source", "exercise", "exercise.ipynb")
	if err := os.WriteFile(edited, append(src, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = MakeCourse(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), edited+" was edited in the course folder") {
		t.Errorf("making the course over an edited source: %v", err)
	}
	if data, _ := os.ReadFile(edited); string(data) != string(src)+" " {
		t.Error("the edited source copy was overwritten")
	}
}

func TestMakeCourseErrors(t *testing.T) {
	home, _ := fakeNbgrader(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		o    CourseOptions
		want string
	}{
		{CourseOptions{Dir: dir, Home: home}, "no notebooks"},
		{CourseOptions{Dir: dir, Home: t.TempDir(), Notebooks: []string{"testdata/exercise.ipynb"}}, "nbgrader is not installed"},
		{CourseOptions{Dir: dir, Home: home, Notebooks: []string{"testdata/missing.ipynb"}}, "testdata/missing.ipynb: no such file"},
		{CourseOptions{Dir: dir, Home: home, Notebooks: []string{"testdata/exercise.ipynb"}, Root: dir}, "the repository: open " + dir + "/go.mod"},
	} {
		if _, err := MakeCourse(context.Background(), tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.o, err, tt.want)
		}
	}
}

func TestPointAtRoot(t *testing.T) {
	nb := `{"cells": [{"cell_type": "markdown", "source": ["go mod edit -replace=other/mod=x\n"]},
 {"cell_type": "code", "source": ["!*go mod edit -require=github.com/vitnb/vitnb@v0.0.0 -replace=github.com/vitnb/vitnb=$(cd \"${GONB_DIR}/..\" && pwd)\n", "%ls"]}]}`
	got, err := pointAtRoot([]byte(nb), "github.com/vitnb/vitnb", "/srv/vit nb")
	if err != nil {
		t.Fatal(err)
	}
	want := `"!*go mod edit -require=github.com/vitnb/vitnb@v0.0.0 -replace=github.com/vitnb/vitnb=\"${VITNB_ROOT:-/srv/vit nb}\"\n%ls"`
	if !strings.Contains(string(got), want) || !strings.Contains(string(got), `"source": ["go mod edit -replace=other/mod=x\n"]`) {
		t.Errorf("got\n%s\nwant the code cell's source %s and the markdown unchanged", got, want)
	}
}

// An autograded notebook: the solution cell, the graded test, and a cell after it.
func autogradedNotebook(testOut, afterOut string, afterRan bool) string {
	after := `null`
	if afterRan {
		after = `3`
	}
	return `{"cells": [
 {"cell_type": "code", "execution_count": 1, "metadata": {"nbgrader": {"grade_id": "f", "solution": true}}, "source": "func f() int {}", "outputs": []},
 {"cell_type": "code", "execution_count": 2, "metadata": {"nbgrader": {"grade_id": "test_f", "grade": true, "points": 2}}, "source": "%%\ngrade.Run(...)", "outputs": [` + testOut + `]},
 {"cell_type": "code", "execution_count": ` + after + `, "metadata": {}, "source": "%%\nfmt.Println(1)", "outputs": [` + afterOut + `]}]}`
}

// TestCourseJudge: the scores and autograded notebooks that Check reads give the verdicts CI relies on.
func TestCourseJudge(t *testing.T) {
	fail := `{"output_type": "error", "ename": "ERROR", "evalue": "exit status 1", "traceback": []}`
	ok := `{"output_type": "stream", "name": "stdout", "text": "1\n"}`
	all := map[[3]string][2]float64{{SolutionStudent, "a", "test_f"}: {2, 2}, {StubStudent, "a", "test_f"}: {0, 2}}
	tests := []struct {
		name          string
		scores        map[[3]string][2]float64
		solution, stb string
		want          []string
	}{
		{"clean", all, autogradedNotebook(ok, ok, true), autogradedNotebook(fail, ok, true), nil},
		{"solution loses a point", map[[3]string][2]float64{{SolutionStudent, "a", "test_f"}: {1, 2}, {StubStudent, "a", "test_f"}: {0, 2}},
			autogradedNotebook(ok, ok, true), autogradedNotebook(fail, ok, true), []string{"a: test_f: the solution scores 1 of 2"}},
		{"stub earns points", map[[3]string][2]float64{{SolutionStudent, "a", "test_f"}: {2, 2}, {StubStudent, "a", "test_f"}: {2, 2}},
			autogradedNotebook(ok, ok, true), autogradedNotebook(ok, ok, true), []string{"a: test_f: the stub scores 2 of 2"}},
		{"no score", map[[3]string][2]float64{}, autogradedNotebook(ok, ok, true), autogradedNotebook(fail, ok, true),
			[]string{"a: test_f: no score in the gradebook"}},
		{"a cell after the test uses the stub", all, autogradedNotebook(ok, ok, true), autogradedNotebook(fail, fail, true),
			[]string{"a (the student's version): cell 3 (%%): ERROR: exit status 1"}},
		{"the kernel died", all, autogradedNotebook(ok, ok, true), autogradedNotebook(fail, "", false),
			[]string{"a (the student's version): cell 3 (%%) did not run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Course{Dir: t.TempDir()}
			for student, nb := range map[string]string{SolutionStudent: tt.solution, StubStudent: tt.stb} {
				p := filepath.Join(c.Dir, "autograded", student, "a", "a.ipynb")
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(nb), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, problems, err := c.judge([]Assignment{{Name: "a", Tests: []string{"test_f"}, Points: 2}}, tt.scores)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(problems, tt.want) {
				t.Errorf("problems %q, want %q", problems, tt.want)
			}
		})
	}
}

// TestCourseEndToEnd makes a course of testdata/exercise.ipynb with the real nbgrader and gonb kernel (when
// `vit notebook setup` installed them; .ci/course runs the same through `vit notebook course -check`): the
// student's version has the stub in place of the solution and no outputs, the instructor's version scores 2 of 2,
// the stub 0 with the one-line "not implemented", and the cell after the test runs in both.
func TestCourseEndToEnd(t *testing.T) {
	home := DefaultHome()
	spec := KernelSpecPath(home)
	for _, p := range []string{filepath.Join(home, "venv", "bin", "nbgrader"), filepath.Join(home, "bin", "gonb"), spec} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("vit notebook setup has not installed nbgrader and the kernel (%s is missing)", p)
		}
	}
	if testing.Short() {
		t.Skip("runs nbgrader and the gonb kernel")
	}
	var log strings.Builder
	c, err := MakeCourse(context.Background(), CourseOptions{Dir: t.TempDir(), Notebooks: []string{"testdata/exercise.ipynb"},
		Home: home, Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	student, err := Read(filepath.Join(c.Dir, "release", "exercise", "exercise.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	if src := string(student.Cells[4].Source); !strings.Contains(src, "\t// YOUR CODE HERE\n\tpanic(\"not implemented\")") || strings.Contains(src, "SOLUTION") ||
		strings.Contains(src, "math.Exp") {
		t.Errorf("the student's solution cell:\n%s", src)
	}
	res, err := c.Check(context.Background(), "quick")
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var report strings.Builder
	res.Report(&report)
	t.Logf("%s", report.String())
	want := []Score{{Assignment: "exercise", Test: "test_softmax", Points: 2, Solution: 2, Stub: 0}}
	if !slices.Equal(res.Scores, want) || len(res.Problems) > 0 {
		t.Fatalf("scores %+v, problems %q; want %+v and none\n%s", res.Scores, res.Problems, want, log.String())
	}
	graded, err := Read(filepath.Join(c.Dir, "autograded", StubStudent, "exercise", "exercise.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, o := range graded.Cells[5].Outputs {
		out.WriteString(string(o.Text))
	}
	if !strings.Contains(out.String(), "✗ softmax: not implemented: write your solution") || strings.Contains(out.String(), "goroutine") {
		t.Errorf("the stub's test cell says:\n%s", out.String())
	}
}

// TestCheckNothingGraded: a course without graded cells runs no nbgrader (nothing to grade) and says which
// assignments it skipped; what an earlier Check submitted is gone.
func TestCheckNothingGraded(t *testing.T) {
	home, log := fakeNbgrader(t)
	c := &Course{Dir: t.TempDir(), Home: home, Assignments: []Assignment{{Name: "01_patches"}}, log: io.Discard}
	stale := filepath.Join(c.Dir, "submitted", StubStudent, "old", "old.ipynb")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := c.Check(context.Background(), "quick")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Skipped, []string{"01_patches"}) || len(res.Scores) > 0 || len(res.Problems) > 0 {
		t.Errorf("result %+v, want 01_patches skipped and nothing else", res)
	}
	if calls, _ := os.ReadFile(log); len(calls) > 0 {
		t.Errorf("nbgrader ran: %s", calls)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("an earlier submission of the stub student is still there")
	}
	if _, err := c.Check(context.Background(), "slow"); err == nil || !strings.Contains(err.Error(), `unknown budget "slow"`) {
		t.Errorf("Check with budget slow: %v", err)
	}
}
