package notebook

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckBudget(t *testing.T) {
	for _, b := range append([]string{""}, Budgets...) {
		if err := CheckBudget(b); err != nil {
			t.Errorf("CheckBudget(%q): %v", b, err)
		}
	}
	if err := (RunOptions{Timeout: -time.Second}).Validate(); err == nil || !strings.Contains(err.Error(), "-timeout") {
		t.Errorf("a negative timeout: %v", err)
	}
	if err := CheckBudget("medium"); err == nil || !strings.Contains(err.Error(), "quick, default, full") {
		t.Errorf("CheckBudget(medium): %v", err)
	}
	if _, err := StartLab(context.Background(), LabOptions{Home: t.TempDir(), Budget: "medium"}); err == nil ||
		!strings.Contains(err.Error(), "medium") {
		t.Errorf("StartLab with a bad budget: %v", err)
	}
}

// TestRunAllOutDir: RunAll creates the folder of the executed copies (a temporary one when none is given) and
// says where it is, also when every notebook fails (here: no Python with nbclient in Home).
func TestRunAllOutDir(t *testing.T) {
	home := t.TempDir()
	var w strings.Builder
	err := RunAll(context.Background(), []string{"a.ipynb"}, RunOptions{Home: home}, &w)
	if err == nil || !strings.Contains(err.Error(), "1 of 1") || !strings.Contains(w.String(), "FAIL a.ipynb: no Python") {
		t.Fatalf("RunAll without Python: %v\n%s", err, w.String())
	}
	dir, ok := strings.CutPrefix(strings.TrimSpace(w.String()[strings.LastIndex(w.String(), "\nexecuted copies in "):]), "executed copies in ")
	if !ok || !strings.HasPrefix(filepath.Base(dir), "vitnb-notebooks-") {
		t.Fatalf("no temporary folder named:\n%s", w.String())
	}
	defer os.RemoveAll(dir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Errorf("temporary folder %s: %v", dir, err)
	}
	out := filepath.Join(t.TempDir(), "a", "b")
	w.Reset()
	_ = RunAll(context.Background(), []string{"a.ipynb"}, RunOptions{Home: home, OutDir: out}, &w)
	if st, err := os.Stat(out); err != nil || !st.IsDir() || !strings.HasSuffix(w.String(), "executed copies in "+out+"\n") {
		t.Errorf("OutDir %s: %v\n%s", out, err, w.String())
	}
	if err := RunAll(context.Background(), []string{"a.ipynb"}, RunOptions{Budget: "medium"}, &w); err == nil {
		t.Error("RunAll accepted the budget medium")
	}
}

func TestInstalledDescribe(t *testing.T) {
	var w strings.Builder
	(&Installed{Home: "/h", KernelSpec: "/k/kernel.json", Gopls: "/h/bin/gopls", Nbgrader: "/h/venv/bin/nbgrader"}).Describe(&w)
	if s := w.String(); !strings.HasPrefix(s, "GoNB "+GoNBVersion+" kernel installed: /k/kernel.json\n") ||
		!strings.Contains(s, "vit notebook run") || strings.Contains(s, "vit notebook lab") ||
		!strings.Contains(s, "gopls "+GoplsVersion+" (Tab completion and help in the cells): /h/bin/gopls\n") ||
		!strings.Contains(s, "nbgrader (course assignments, vit notebook course): /h/venv/bin/nbgrader\n") {
		t.Errorf("installed:\n%s", s)
	}
	w.Reset()
	(&Installed{Home: "/h", Skipped: true, Lab: true}).Describe(&w)
	if s := w.String(); !strings.Contains(s, "are in place (/h; -force installs again)") || !strings.Contains(s, "vit notebook lab notebooks/") {
		t.Errorf("skipped, with lab:\n%s", s)
	}
}
