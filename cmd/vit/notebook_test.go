package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A notebook as GoNB leaves it: a markdown cell, a clean cell, a panic (reported as stream text, which
// nbclient does not count as an error), a compile error, a failed shell command and a killed process.
const executedNotebook = `{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "panic: in prose is fine\n"]},
  {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "%%\nfmt.Println(\"hi\")",
   "outputs": [{"name": "stdout", "output_type": "stream", "text": ["hi\n"]}]},
  {"cell_type": "code", "execution_count": 2, "metadata": {}, "source": ["%%\n", "panic(\"boom\")"],
   "outputs": [{"name": "stderr", "output_type": "stream", "text": ["panic: "]},
               {"name": "stdout", "output_type": "stream", "text": "interleaved\n"},
               {"name": "stderr", "output_type": "stream", "text": ["boom"]},
               {"name": "stderr", "output_type": "stream", "text": ["\n", "\n", "goroutine 1 [running]:\n"]},
               {"name": "stderr", "output_type": "stream", "text": "exit status 2\n"}]},
  {"cell_type": "code", "execution_count": 3, "metadata": {}, "source": "func f() { x := }",
   "outputs": [{"output_type": "error", "ename": "ERROR", "evalue": "expected operand", "traceback": ["\u001b[31mCell[4]: Line 1\u001b[0m"]}]},
  {"cell_type": "code", "execution_count": 4, "metadata": {}, "source": "!false",
   "outputs": [{"name": "stderr", "output_type": "stream", "text": "\u001b[1mexit status 1\u001b[0m\n"}]},
  {"cell_type": "code", "execution_count": 5, "metadata": {}, "source": "%%\nsyscall.Kill(os.Getpid(), 9)",
   "outputs": [{"name": "stdout", "output_type": "stream", "text": "the exit status is printed later\nsignal: killed\n"}]},
  {"cell_type": "code", "execution_count": 6, "metadata": {}, "source": "%%\nfmt.Println(seq(3))",
   "outputs": [{"output_type": "error", "ename": "ERROR", "evalue": "# gonb_12dab1bc\n./main.go:107:34: undefined: seq\n./main.go:115:74: undefined: mark\n",
                "traceback": ["# gonb_12dab1bc", "Cell[8]: Line 8\nundefined: seq"]}]}
 ],
 "metadata": {"kernelspec": {"name": "gonb"}},
 "nbformat": 4, "nbformat_minor": 5
}`

func TestCheckOutputs(t *testing.T) {
	nb, err := parseNotebook([]byte(executedNotebook), "test.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range checkOutputs(nb) {
		got = append(got, p.String())
	}
	want := []string{
		"cell 3 (%%): panic: boom",
		"cell 3 (%%): exit status 2",
		"cell 4 (func f() { x := }): ERROR: expected operand",
		"cell 5 (!false): exit status 1",
		"cell 6 (%%): signal: killed",
		"cell 7 (%%): ERROR: ./main.go:107:34: undefined: seq | ./main.go:115:74: undefined: mark",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckOutputsClean(t *testing.T) {
	clean := `{"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "%%\nfmt.Println(1)",
	  "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}},
	              {"name": "stdout", "output_type": "stream", "text": "no panic: here, exit status is fine mid-line\n"}]}],
	  "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`
	nb, err := parseNotebook([]byte(clean), "clean.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if p := checkOutputs(nb); len(p) != 0 {
		t.Fatalf("clean notebook has problems: %v", p)
	}
	if _, err := parseNotebook([]byte(`{"cells": "no"}`), "bad.ipynb"); err == nil {
		t.Fatal("no error for a malformed notebook")
	}
}

func TestCheckStored(t *testing.T) {
	src := `{"cells": [
	  {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "%%\nfmt.Println(1)", "outputs": []},
	  {"cell_type": "code", "execution_count": null, "metadata": {}, "source": "%%\nfmt.Println(2)", "outputs": []}],
	  "metadata": {STAMP}, "nbformat": 4, "nbformat_minor": 5}`
	nb, err := parseNotebook([]byte(strings.Replace(src, "STAMP", "", 1)), "x.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(checkStored(nb), "\n")
	if !strings.Contains(problems, "cell 2 (%%) was not executed") || !strings.Contains(problems, "no vitnb stamp") {
		t.Fatalf("problems: %s", problems)
	}
	hash := nb.sourcesHash()
	fresh := strings.Replace(src, "STAMP", `"vitnb": {"budget": "quick", "sources_sha256": "`+hash+`", "seconds": 3}`, 1)
	fresh = strings.Replace(fresh, "null", "2", 1)
	nb, err = parseNotebook([]byte(fresh), "x.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if p := checkStored(nb); len(p) != 0 {
		t.Fatalf("fresh notebook: %v", p)
	}
	stale, err := parseNotebook([]byte(strings.Replace(fresh, "Println(2)", "Println(3)", 1)), "x.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(checkStored(stale), "\n"); !strings.Contains(p, "the code changed") {
		t.Fatalf("stale notebook: %q", p)
	}
	broken, err := parseNotebook([]byte(strings.Replace(fresh, `"seconds": 3`, `"seconds": 3, "error": "cell 2 of 2 code cells: CellTimeoutError"`, 1)), "x.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(checkStored(broken), "\n"); !strings.Contains(p, "broke off: cell 2 of 2 code cells: CellTimeoutError") {
		t.Fatalf("broken-off notebook: %q", p)
	}
}

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
	if code, _, errOut := runVit(t, "notebook", "run", "-budget", "default"); code != 2 || !strings.Contains(errOut, "needs notebook files") {
		t.Fatalf("-budget default without notebooks: exit %d, %q", code, errOut)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.ipynb")
	if err := os.WriteFile(path, []byte(executedNotebook), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runVit(t, "notebook", "check", path)
	if code != 1 || !strings.Contains(out, "FAIL "+path) || !strings.Contains(out, "cell 3 (%%): panic: boom") {
		t.Fatalf("check of a failing notebook: exit %d\n%s", code, out)
	}
}

func TestPatchKernelSpec(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kernel.json")
	if err := os.WriteFile(path, []byte(`{"argv": ["gonb", "--kernel", "{connection_file}"], "env": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := patchKernelSpec(path, "/opt/nb"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{`"GOEXPERIMENT": "simd"`, `"GOTOOLCHAIN": "go1.27.4"`, `"PATH": "/opt/nb/bin:${PATH}"`, `"{connection_file}"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("kernel.json lacks %s:\n%s", want, data)
		}
	}
}

// TestNotebookRunEndToEnd executes a small notebook whose second cell panics, when `vit notebook setup` has
// installed the tools: the run must fail and name the notebook and the cell.
func TestNotebookRunEndToEnd(t *testing.T) {
	home := notebookHome()
	spec, err := kernelSpecPath()
	if err != nil {
		t.Skip(err)
	}
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
