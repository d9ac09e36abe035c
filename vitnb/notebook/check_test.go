package notebook

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// wantProblems fails the test unless CheckOutputs finds exactly want in the notebook src.
func wantProblems(t *testing.T, src string, want []string) {
	t.Helper()
	nb, err := Parse([]byte(src), "test.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range CheckOutputs(nb) {
		got = append(got, p.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckOutputs(t *testing.T) {
	wantProblems(t, executedNotebook, []string{
		"cell 3 (%%): panic: boom",
		"cell 3 (%%): exit status 2",
		"cell 4 (func f() { x := }): ERROR: expected operand",
		"cell 5 (!false): exit status 1",
		"cell 6 (%%): signal: killed",
		"cell 7 (%%): ERROR: ./main.go:107:34: undefined: seq | ./main.go:115:74: undefined: mark",
	})
}

func TestCheckOutputsClean(t *testing.T) {
	clean := `{"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "%%\nfmt.Println(1)",
	  "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}},
	              {"name": "stdout", "output_type": "stream", "text": "no panic: here, exit status is fine mid-line\n"}]}],
	  "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`
	nb, err := Parse([]byte(clean), "clean.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if p := CheckOutputs(nb); len(p) != 0 {
		t.Fatalf("clean notebook has problems: %v", p)
	}
	if _, err := Parse([]byte(`{"cells": "no"}`), "bad.ipynb"); err == nil {
		t.Fatal("no error for a malformed notebook")
	}
}

func TestCheckStored(t *testing.T) {
	src := `{"cells": [
	  {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "%%\nfmt.Println(1)", "outputs": []},
	  {"cell_type": "code", "execution_count": null, "metadata": {}, "source": "%%\nfmt.Println(2)", "outputs": []}],
	  "metadata": {STAMP}, "nbformat": 4, "nbformat_minor": 5}`
	nb, err := Parse([]byte(strings.Replace(src, "STAMP", "", 1)), "x.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(CheckStored(nb), "\n")
	if !strings.Contains(problems, "cell 2 (%%) was not executed") || !strings.Contains(problems, "no vitnb stamp") {
		t.Fatalf("problems: %s", problems)
	}
	hash := nb.SourcesHash()
	fresh := strings.Replace(src, "STAMP", `"vitnb": {"budget": "quick", "sources_sha256": "`+hash+`", "seconds": 3}`, 1)
	fresh = strings.Replace(fresh, "null", "2", 1)
	nb, err = Parse([]byte(fresh), "x.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if p := CheckStored(nb); len(p) != 0 {
		t.Fatalf("fresh notebook: %v", p)
	}
	stale, err := Parse([]byte(strings.Replace(fresh, "Println(2)", "Println(3)", 1)), "x.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(CheckStored(stale), "\n"); !strings.Contains(p, "the code changed") {
		t.Fatalf("stale notebook: %q", p)
	}
	broken, err := Parse([]byte(strings.Replace(fresh, `"seconds": 3`, `"seconds": 3, "error": "cell 2 of 2 code cells: CellTimeoutError"`, 1)), "x.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(CheckStored(broken), "\n"); !strings.Contains(p, "broke off: cell 2 of 2 code cells: CellTimeoutError") {
		t.Fatalf("broken-off notebook: %q", p)
	}
}

// TestReadRefuses: a device, a pipe, a folder and a file above MaxFileSize are refused before anything is read
// (a read of /dev/zero would never end), with one line naming the file.
func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.ipynb")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.ipynb")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk used, but its size is one byte above the limit.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "/dev/zero is not a regular file"},
		{fifo, fifo + " is not a regular file"},
		{dir, dir + " is not a regular file"},
		{huge, huge + " is 67108865 bytes, more than a notebook may be (64 MiB)"},
	} {
		// A pipe without a writer would block a plain open.
		_, err := Read(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Read(%s): %v, want one line with %q", tc.path, err, tc.want)
		}
	}
	good := filepath.Join(dir, "good.ipynb")
	if err := os.WriteFile(good, []byte(executedNotebook), 0o644); err != nil {
		t.Fatal(err)
	}
	if nb, err := Read(good); err != nil || len(nb.Cells) != 7 {
		t.Fatalf("Read of a notebook: %v", err)
	}
}

// FuzzParseNotebook: whatever the bytes, Parse returns a notebook or an error naming the file, and the checks
// run on what it returns without panicking.
func FuzzParseNotebook(f *testing.F) {
	f.Add([]byte(executedNotebook))
	f.Add([]byte(`{"cells": [{"cell_type": "code", "source": ["a", "b"], "outputs": [{"output_type": "stream", "text": ["panic: x\n"]}]}]}`))
	f.Add([]byte(`{"cells": "no"}`))
	f.Add([]byte(`{"metadata": {"vitnb": {"budget": "quick", "sources_sha256": "x"}}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		nb, err := Parse(data, "fuzz.ipynb")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.ipynb is not a Jupyter notebook: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, p := range CheckOutputs(nb) {
			if p.Cell < 1 || p.Cell > len(nb.Cells) || strings.Contains(p.What, "\n") {
				t.Fatalf("bad problem %+v", p)
			}
		}
		_ = CheckStored(nb)
		_ = nb.SourcesHash()
	})
}
