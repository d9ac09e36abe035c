package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitnb/vitnb/vitnb/notebook"
)

// failingNotebook holds a panic in its third cell, reported as stream text.
const failingNotebook = `{"cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
  {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "%%\nfmt.Println(\"hi\")", "outputs": []},
  {"cell_type": "code", "execution_count": 2, "metadata": {}, "source": ["%%\n", "panic(\"boom\")"],
   "outputs": [{"name": "stderr", "output_type": "stream", "text": ["panic: boom\n", "exit status 2\n"]}]}],
 "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`

func TestNotebookCommandLine(t *testing.T) {
	if code, _, _ := runVit(t, "notebook"); code != 2 {
		t.Fatalf("no subcommand: exit %d, want 2", code)
	}
	if code, _, _ := runVit(t, "notebook", "frobnicate"); code != 2 {
		t.Fatalf("unknown subcommand: exit %d, want 2", code)
	}
	if code, _, _ := runVit(t, "notebook", "run", "-budget", "medium", "x.ipynb"); code != 2 {
		t.Fatalf("bad budget: exit %d, want 2", code)
	}
	// The default budget is accepted: the usage error is the missing notebook, not the budget.
	if code, _, errOut := runVit(t, "notebook", "run", "-budget", "default"); code != 2 || !strings.Contains(errOut, "missing notebook files") {
		t.Fatalf("-budget default without notebooks: exit %d, %q", code, errOut)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.ipynb")
	if err := os.WriteFile(path, []byte(failingNotebook), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runVit(t, "notebook", "check", path)
	if code != 1 || !strings.Contains(out, "FAIL "+path) || !strings.Contains(out, "cell 3 (%%): panic: boom") {
		t.Fatalf("check of a failing notebook: exit %d\n%s", code, out)
	}
}

// TestNotebookCheckRefusesDevice: `vit notebook check /dev/zero` answers at once with one line, exit 1.
func TestNotebookCheckRefusesDevice(t *testing.T) {
	code, out, _ := runVit(t, "notebook", "check", "/dev/zero")
	if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "FAIL /dev/zero: /dev/zero is not a regular file") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestNotebookLabCommandLine(t *testing.T) {
	for _, args := range [][]string{{"-port", "0"}, {"-budget", "medium"}, {"a", "b"}} {
		if code, _, _ := runVit(t, append([]string{"notebook", "lab"}, args...)...); code != 2 {
			t.Errorf("vit notebook lab %v: exit %d, want 2", args, code)
		}
	}
	code, _, errOut := runVit(t, "notebook", "lab", "-home", t.TempDir(), "-port", "18888")
	if code != 1 || !strings.Contains(errOut, "JupyterLab is not installed") {
		t.Fatalf("lab without setup: exit %d, %q", code, errOut)
	}
}

// TestNotebookRunEndToEnd executes a small notebook whose second cell panics, when `vit notebook setup` has
// installed the tools: the run must fail and name the notebook and the cell.
func TestNotebookRunEndToEnd(t *testing.T) {
	home := notebook.DefaultHome()
	spec := notebook.KernelSpecPath(home)
	for _, p := range []string{filepath.Join(home, "venv", "bin", "python"), filepath.Join(home, "bin", "gonb"), spec} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("vit notebook setup has not run (%s is missing)", p)
		}
	}
	if testing.Short() {
		t.Skip("starts a Jupyter kernel")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "panics.ipynb")
	nb := `{"cells": [
	  {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [], "source": "%%\nfmt.Println(\"fine\")"},
	  {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [], "source": "%%\npanic(\"deliberate\")"}],
	  "metadata": {"kernelspec": {"name": "gonb", "display_name": "Go (gonb)", "language": "go"}},
	  "nbformat": 4, "nbformat_minor": 5}`
	if err := os.WriteFile(path, []byte(nb), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runVit(t, "notebook", "run", "-o", filepath.Join(dir, "out"), "-write", path)
	if code != 1 || !strings.Contains(out, "FAIL "+path) || !strings.Contains(out, "cell 2 (%%): panic: deliberate") {
		t.Fatalf("exit %d, want 1 naming the notebook and cell 2:\n%s\n%s", code, out, errOut)
	}
	if data, _ := os.ReadFile(path); string(data) != nb {
		t.Fatal("-write replaced a notebook that failed")
	}
}

// TestNotebookCourseUsage: a bad budget or no folder is a usage error (exit 2, one line); without nbgrader the
// command says to run the setup.
func TestNotebookCourseUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"notebook", "course", "-check", "slow", "dir"}, 2, `vit notebook course: invalid value "slow" for flag -check: unknown budget "slow"`},
		{[]string{"notebook", "course"}, 2, "vit notebook course: missing the course folder"},
		{[]string{"notebook", "course", t.TempDir(), "../../vitnb/notebook/testdata/exercise.ipynb"}, 1, "nbgrader is not installed"},
	} {
		t.Setenv("VITNB_NOTEBOOK_HOME", t.TempDir())
		code, _, errOut := runVit(t, tt.args...)
		last := strings.TrimSpace(errOut)
		if i := strings.LastIndex(last, "\n"); i >= 0 {
			last = last[i+1:]
		}
		if code != tt.code || !strings.Contains(last, tt.want) {
			t.Errorf("vit %q: exit %d, last line %q; want %d and %q", tt.args, code, last, tt.code, tt.want)
		}
	}
}
