// Package notebook installs and runs the vitnb notebooks: the GoNB kernel and its tools (Setup), JupyterLab
// (Lab), headless runs through nbclient (Run) and the checks of a notebook's outputs (CheckOutputs,
// CheckStored). The command `vit notebook` is a thin shell over it.
package notebook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vitnb/vitnb/vitnb/files"
)

// Pinned versions of what Setup installs. GoNB must match the gonbui that go.mod requires.
const (
	GoNBModule       = "github.com/janpfeifer/gonb"
	GoNBVersion      = "v0.11.5"
	GoimportsModule  = "golang.org/x/tools/cmd/goimports"
	GoimportsVersion = "v0.34.0" // the golang.org/x/tools that GoNB v0.11.5 requires
	// GoplsModule gives GoNB's Tab completion and contextual help. Installed on its own (`go install`), not in the
	// tool module: it needs a newer golang.org/x/tools than GoNB's goimports. v0.24.0 wants Go 1.27.
	GoplsModule  = "golang.org/x/tools/gopls"
	GoplsVersion = "v0.24.0"
)

// JupyterPackages are the PyPI packages that execute notebooks headlessly.
var JupyterPackages = []string{"nbclient==0.11.0", "nbformat==5.11.1", "jupyter_client==8.10.0", "jupyter_core==5.9.1"}

// CoursePackages are the PyPI packages of `vit notebook course` (nbgrader makes and grades course assignments).
// nbgrader requires JupyterLab, so Setup always installs LabPackages with them, pinned.
var CoursePackages = []string{"nbgrader==0.9.6"}

// LabPackages are the PyPI packages that Setup adds with Lab: JupyterLab, pinned: the browser test relies on its CSS
// selectors (DESIGN.md section 9, checked on 4.6).
var LabPackages = []string{"jupyterlab==4.6.6"}

// KernelEnv is the environment every GoNB cell's `go build` needs (see the Makefile): Go 1.27 for GoMLX v0.28,
// the SIMD kernels of the pure-Go backend, and -mod=mod because `go mod tidy` fails offline.
var KernelEnv = [][2]string{{"GOTOOLCHAIN", "go1.27.4"}, {"GOEXPERIMENT", "simd"}, {"GOFLAGS", "-mod=mod"}}

// DefaultHome is where Setup installs its tools: $VITNB_NOTEBOOK_HOME, else ~/.cache/vitnb/notebook (without
// $HOME, notebook in files.PrivateTempRoot).
func DefaultHome() string {
	if d := os.Getenv("VITNB_NOTEBOOK_HOME"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(files.PrivateTempRoot(), "notebook")
	}
	return filepath.Join(cache, "vitnb", "notebook")
}

// ToolEnv returns the environment for GoNB, Jupyter and the cells: the current one with KernelEnv's variables
// (unless already set), home/bin first in PATH and the kernel's Jupyter data folder (KernelDataDir) first in
// JUPYTER_PATH, then extra ("NAME=value").
func ToolEnv(home string, extra ...string) []string {
	env := os.Environ()
	for _, kv := range KernelEnv {
		if os.Getenv(kv[0]) == "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	list := func(first, rest string) string {
		if rest == "" {
			return first
		}
		return first + string(os.PathListSeparator) + rest
	}
	env = append(env, "PATH="+list(filepath.Join(home, "bin"), os.Getenv("PATH")),
		"JUPYTER_PATH="+list(KernelDataDir(home), os.Getenv("JUPYTER_PATH")))
	return append(env, extra...)
}

// step runs one external command, its output going to w.
func step(ctx context.Context, w io.Writer, dir string, env []string, name string, args ...string) error {
	fmt.Fprintf(w, "$ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// SetupOptions says what Setup installs and where.
type SetupOptions struct {
	// Home is the folder for the tools (DefaultHome when empty).
	Home string
	// Python creates the virtual environment ("python3" when empty).
	Python string
	// Lab also installs JupyterLab (LabPackages) into the virtual environment.
	Lab bool
	// Force reinstalls even when the stamp says everything is in place.
	Force bool
	// Log receives the commands run and their output (io.Discard when nil).
	Log io.Writer
}

// Installed is what Setup put in place.
type Installed struct {
	Home       string // the tools' folder
	Python     string // the virtual environment's python, with nbclient
	Jupyter    string // its jupyter command
	Nbgrader   string // its nbgrader command
	Gopls      string // the gopls binary (completion and help in the cells)
	GoNB       string // the gonb binary
	KernelSpec string // the gonb kernel spec (kernel.json)
	// Lab is true when JupyterLab is installed too (SetupOptions.Lab).
	Lab bool
	// Skipped is true when everything was already in place (the stamp matched) and nothing ran.
	Skipped bool
}

// Describe writes what `vit notebook setup` says when done: the kernel installed (or found in place), and the
// commands that run the notebooks and, with JupyterLab, browse them.
func (in *Installed) Describe(w io.Writer) {
	if in.Skipped {
		fmt.Fprintf(w, "GoNB %s, its kernel and the venv are in place (%s; -force installs again)\n", GoNBVersion, in.Home)
	} else {
		fmt.Fprintf(w, "GoNB %s kernel installed: %s\n", GoNBVersion, in.KernelSpec)
	}
	fmt.Fprintf(w, "gopls %s (Tab completion and help in the cells): %s\n", GoplsVersion, in.Gopls)
	fmt.Fprintf(w, "nbgrader (course assignments, vit notebook course): %s\n", in.Nbgrader)
	fmt.Fprintln(w, "run the notebooks: vit notebook run notebooks/*.ipynb")
	if in.Lab {
		fmt.Fprintln(w, "browse them:       vit notebook lab notebooks/")
	}
}

// setupStamp is written to Home/setup.json when Setup succeeds; a later Setup with the same versions skips
// every step while the files it names are still there, so that `make lab` starts in seconds the second time.
type setupStamp struct {
	GoNB, Goimports, Gopls string
	Jupyter, Course        []string
	Lab                    []string `json:",omitempty"`
	KernelSpec             string
}

func (o SetupOptions) stamp(spec string) setupStamp {
	s := setupStamp{GoNB: GoNBVersion, Goimports: GoimportsVersion, Gopls: GoplsVersion, Jupyter: JupyterPackages,
		Course: CoursePackages, KernelSpec: spec}
	if o.Lab {
		s.Lab = LabPackages
	}
	return s
}

// upToDate says whether the stamp in home matches want and the installed files are there.
func upToDate(home string, want setupStamp, in *Installed) bool {
	data, err := os.ReadFile(filepath.Join(home, "setup.json"))
	if err != nil {
		return false
	}
	var got setupStamp
	if json.Unmarshal(data, &got) != nil {
		return false
	}
	if want.Lab == nil {
		got.Lab = nil // JupyterLab installed before is no reason to install again without it
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		return false
	}
	files := []string{in.Python, in.Jupyter, in.Nbgrader, in.GoNB, in.Gopls, in.KernelSpec, filepath.Join(home, "bin", "goimports")}
	if want.Lab != nil {
		files = append(files, filepath.Join(filepath.Dir(in.Jupyter), "jupyter-lab"))
	}
	for _, p := range files {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	// The kernel spec must still carry the Go environment (another `gonb --install` rewrites it).
	spec, err := os.ReadFile(in.KernelSpec)
	return err == nil && strings.Contains(string(spec), filepath.Join(home, "bin"))
}

// Setup installs GoNB (pinned), goimports and gopls into Home/bin, a Python virtual environment with nbclient,
// nbgrader and JupyterLab into Home/venv, and the gonb kernel spec with the Go environment its cells need. When a
// previous Setup with the same versions left everything in place, it does nothing and says so (Skipped).
func Setup(ctx context.Context, o SetupOptions) (*Installed, error) {
	if o.Home == "" {
		o.Home = DefaultHome()
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	h, err := filepath.Abs(o.Home)
	if err != nil {
		return nil, err
	}
	if err := files.CheckCache(h); err != nil {
		return nil, err
	}
	spec := KernelSpecPath(h)
	venv := filepath.Join(h, "venv")
	in := &Installed{Home: h, Python: filepath.Join(venv, "bin", "python"), Jupyter: filepath.Join(venv, "bin", "jupyter"),
		Nbgrader: filepath.Join(venv, "bin", "nbgrader"), GoNB: filepath.Join(h, "bin", "gonb"),
		Gopls: filepath.Join(h, "bin", "gopls"), KernelSpec: spec, Lab: o.Lab}
	want := o.stamp(spec)
	if !o.Force && upToDate(h, want, in) {
		in.Skipped = true
		return in, nil
	}
	if err := os.MkdirAll(filepath.Join(h, "gonbtool"), 0o755); err != nil {
		return nil, fmt.Errorf("notebook setup: %w", err)
	}
	env := ToolEnv(h)

	// 1. Python virtual environment with nbclient, nbgrader and JupyterLab.
	if _, err := os.Stat(in.Python); err != nil {
		if err := step(ctx, log, h, env, o.Python, "-m", "venv", venv); err != nil {
			return nil, fmt.Errorf("%w\n(on Debian or Ubuntu: apt-get install python3-venv)", err)
		}
	}
	pkgs := append([]string{"-m", "pip", "install", "-q", "--disable-pip-version-check"}, JupyterPackages...)
	pkgs = append(append(pkgs, CoursePackages...), LabPackages...)
	if err := step(ctx, log, h, env, in.Python, pkgs...); err != nil {
		return nil, err
	}

	// 2. GoNB and goimports, from a tool module (`go install gonb@version` fails: the proxy refuses its version
	// list, DESIGN.md section 1).
	tool := filepath.Join(h, "gonbtool")
	if _, err := os.Stat(filepath.Join(tool, "go.mod")); err != nil {
		if err := os.WriteFile(filepath.Join(tool, "go.mod"), []byte("module local/gonbtool\n\ngo 1.27\n"), 0o644); err != nil {
			return nil, fmt.Errorf("notebook setup: %w", err)
		}
	}
	if err := step(ctx, log, tool, env, "go", "get", "-tool", GoNBModule+"@"+GoNBVersion,
		GoimportsModule+"@"+GoimportsVersion); err != nil {
		return nil, err
	}
	if err := step(ctx, log, tool, append(env, "GOBIN="+filepath.Join(h, "bin")), "go", "install", "tool"); err != nil {
		return nil, err
	}
	if err := step(ctx, log, h, append(env, "GOBIN="+filepath.Join(h, "bin")), "go", "install",
		GoplsModule+"@"+GoplsVersion); err != nil {
		return nil, err
	}

	// 3. The kernel spec, with the Go environment that every cell's build needs, in Home (KernelDataDir): GoNB
	// writes kernel.json, and a copy of itself when it lies in a cache folder, into $JUPYTER_DATA_DIR/kernels/gonb,
	// by default the user's ~/.local/share/jupyter.
	data := KernelDataDir(h)
	if rel, err := filepath.Rel(h, data); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		fmt.Fprintf(log, "JUPYTER_DATA_DIR is set: the gonb kernel (kernel.json and a copy of gonb) is installed into %s, outside %s\n",
			filepath.Dir(spec), h)
	}
	if err := step(ctx, log, h, append(env, "JUPYTER_DATA_DIR="+data), in.GoNB, "--install", "--raw_error", "--force_deps"); err != nil {
		return nil, err
	}
	if err := PatchKernelSpec(spec, h); err != nil {
		return nil, err
	}
	stamp, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(h, "setup.json"), append(stamp, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("notebook setup: %w", err)
	}
	return in, nil
}

// KernelDataDir is the Jupyter data folder that Setup installs the gonb kernel into: $JUPYTER_DATA_DIR when the
// user set it, else the share/jupyter folder of home's virtual environment, which that environment's Jupyter reads
// (sys.prefix) and ToolEnv puts first in JUPYTER_PATH, so that nothing outside home changes.
func KernelDataDir(home string) string {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join(home, "venv", "share", "jupyter")
}

// KernelSpecPath is where `gonb --install` writes kernel.json for Setup (GoNB's internal/kernel/install.go) in the
// data folder KernelDataDir(home).
func KernelSpecPath(home string) string {
	return filepath.Join(KernelDataDir(home), "kernels", "gonb", "kernel.json")
}

// PatchKernelSpec adds KernelEnv and home/bin (goimports) to the environment of the gonb kernel spec at path:
// GoNB runs `go build` for every cell, and Jupyter starts the kernel with its own environment.
func PatchKernelSpec(path, home string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if spec == nil {
		return fmt.Errorf("%s: %w", path, errors.New("not a kernel spec (null)"))
	}
	env, _ := spec["env"].(map[string]any)
	if env == nil {
		env = map[string]any{}
	}
	for _, kv := range KernelEnv {
		env[kv[0]] = kv[1]
	}
	env["PATH"] = filepath.Join(home, "bin") + string(os.PathListSeparator) + "${PATH}" // jupyter_client substitutes ${PATH}
	spec["env"] = env
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o644)
}
