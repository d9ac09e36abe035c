package notebook

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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
	spec := KernelSpecPath(home)
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

// TestSetupInstallsInsideHome runs Setup with stand-ins for python, go and gonb that do what the real ones do with
// files (gonb writes its kernel.json and a copy of itself into $JUPYTER_DATA_DIR/kernels/gonb, by default under
// $HOME, as GoNB's install.go): nothing outside the setup's folder may change, the kernel spec lies inside it
// and ToolEnv points Jupyter at it. Before, the kernel spec and the gonb copy went to ~/.local/share/jupyter.
func TestSetupInstallsInsideHome(t *testing.T) {
	root := t.TempDir()
	userHome, bin, home := filepath.Join(root, "user"), filepath.Join(root, "fakebin"), filepath.Join(root, "nb")
	scripts := map[string]string{
		"python3": `if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && cp "$0" "$3/bin/jupyter"; fi`,
		"go":      `if [ "$1" = install ]; then mkdir -p "$GOBIN" && cp "$FAKE_BIN/gonb" "$GOBIN/gonb" && cp "$FAKE_BIN/gonb" "$GOBIN/goimports"; fi`,
		"gonb": `d="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/gonb"
mkdir -p "$d" && cp "$0" "$d/gonb" && printf '{"argv": ["%s", "--kernel", "{connection_file}"], "env": {}}\n' "$d/gonb" > "$d/kernel.json"`,
	}
	for _, d := range []string{userHome, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", userHome)
	t.Setenv("JUPYTER_DATA_DIR", "")
	t.Setenv("JUPYTER_PATH", "")
	t.Setenv("FAKE_BIN", bin)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	in, err := Setup(context.Background(), SetupOptions{Home: home, Python: filepath.Join(bin, "python3")})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(userHome); len(entries) != 0 {
		t.Errorf("Setup -home %s wrote into the user's home: %v", home, entries)
	}
	if want := filepath.Join(home, "venv", "share", "jupyter", "kernels", "gonb", "kernel.json"); in.KernelSpec != want {
		t.Errorf("kernel spec at %s, want %s", in.KernelSpec, want)
	}
	spec, err := os.ReadFile(in.KernelSpec)
	if err != nil || !strings.Contains(string(spec), filepath.Join(home, "bin")) {
		t.Errorf("kernel spec not installed and patched in the setup's folder: %v\n%s", err, spec)
	}
	if !slices.Contains(ToolEnv(home), "JUPYTER_PATH="+filepath.Join(home, "venv", "share", "jupyter")) {
		t.Error("ToolEnv does not point Jupyter at the kernel in the setup's folder")
	}
	// A JUPYTER_DATA_DIR the user set is where the kernel goes, said before it is written.
	elsewhere := filepath.Join(root, "jupyter")
	t.Setenv("JUPYTER_DATA_DIR", elsewhere)
	var log strings.Builder
	in, err = Setup(context.Background(), SetupOptions{Home: home, Python: filepath.Join(bin, "python3"), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	note := strings.Index(log.String(), "JUPYTER_DATA_DIR is set: the gonb kernel")
	if in.KernelSpec != filepath.Join(elsewhere, "kernels", "gonb", "kernel.json") || note < 0 ||
		note > strings.Index(log.String(), "--install") {
		t.Errorf("with JUPYTER_DATA_DIR set: kernel spec %s, log:\n%s", in.KernelSpec, log.String())
	}
}
