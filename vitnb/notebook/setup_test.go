package notebook

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPatchKernelSpec(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kernel.json")
	if err := os.WriteFile(path, []byte(`{"argv": ["gonb", "--kernel", "{connection_file}"], "env": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := PatchKernelSpec(path, "/opt/nb"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{`"GOEXPERIMENT": "simd"`, `"GOTOOLCHAIN": "go1.27.4"`, `"PATH": "/opt/nb/bin:${PATH}"`, `"{connection_file}"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("kernel.json lacks %s:\n%s", want, data)
		}
	}
}

// TestSetupSkipsWhenInPlace: a second Setup with the same versions does nothing (no command runs: here there
// is no python, go or gonb that could) when the stamp matches and the files are there, and installs again when
// a file is gone or the versions differ.
func TestSetupSkipsWhenInPlace(t *testing.T) {
	home := t.TempDir()
	t.Setenv("JUPYTER_DATA_DIR", filepath.Join(home, "jupyter"))
	t.Setenv("PATH", "") // any step that ran would fail
	spec, err := KernelSpecPath()
	if err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(home, "venv", "bin", "python"), filepath.Join(home, "venv", "bin", "jupyter"),
		filepath.Join(home, "bin", "gonb"), filepath.Join(home, "bin", "goimports"), spec,
		filepath.Join(home, "venv", "bin", "nbgrader"), filepath.Join(home, "bin", "gopls")}
	for _, p := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(`{"env": {}}`), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := PatchKernelSpec(spec, home); err != nil {
		t.Fatal(err)
	}
	o := SetupOptions{Home: home, Python: "no-such-python"}
	if _, err := Setup(context.Background(), o); err == nil {
		t.Fatal("Setup without a stamp did not try to install (and fail)")
	}
	// The stamp of a setup before gopls and nbgrader: install them.
	old := `{"GoNB": "` + GoNBVersion + `", "Goimports": "` + GoimportsVersion + `", "Jupyter": ["` +
		strings.Join(JupyterPackages, `", "`) + `"], "KernelSpec": "` + spec + `"}`
	if err := os.WriteFile(filepath.Join(home, "setup.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(context.Background(), o); err == nil {
		t.Fatal("Setup skipped after a setup without gopls and nbgrader")
	}
	stamp := `{"GoNB": "` + GoNBVersion + `", "Goimports": "` + GoimportsVersion + `", "Gopls": "` + GoplsVersion +
		`", "Jupyter": ["` + strings.Join(JupyterPackages, `", "`) + `"], "Course": ["` +
		strings.Join(CoursePackages, `", "`) + `"], "KernelSpec": "` + spec + `"}`
	if err := os.WriteFile(filepath.Join(home, "setup.json"), []byte(stamp), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := Setup(context.Background(), o)
	if err != nil || !in.Skipped {
		t.Fatalf("Setup with everything in place: %v, skipped %v", err, in != nil && in.Skipped)
	}
	o.Lab = true // JupyterLab was not installed: install
	if _, err := Setup(context.Background(), o); err == nil {
		t.Fatal("Setup -lab skipped although JupyterLab is not in the stamp")
	}
	labStamp := strings.Replace(stamp, `"KernelSpec"`, `"Lab": ["`+strings.Join(LabPackages, `", "`)+`"], "KernelSpec"`, 1)
	if err := os.WriteFile(filepath.Join(home, "setup.json"), []byte(labStamp), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(context.Background(), o); err == nil {
		t.Fatal("Setup -lab skipped although jupyter-lab is missing")
	}
	if err := os.WriteFile(filepath.Join(home, "venv", "bin", "jupyter-lab"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if in, err := Setup(context.Background(), o); err != nil || !in.Skipped {
		t.Fatalf("Setup -lab with JupyterLab in place: %v", err)
	}
	o.Lab = false // JupyterLab in place does not matter without -lab
	if in, err := Setup(context.Background(), o); err != nil || !in.Skipped {
		t.Fatalf("Setup after a setup -lab: %v", err)
	}
	for _, gone := range files[5:] { // nbgrader, gopls
		if err := os.Rename(gone, gone+".away"); err != nil {
			t.Fatal(err)
		}
		if _, err := Setup(context.Background(), o); err == nil {
			t.Fatalf("Setup skipped although %s is gone", gone)
		}
		if err := os.Rename(gone+".away", gone); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(files[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(context.Background(), o); err == nil {
		t.Fatal("Setup skipped although gonb is gone")
	}
}
