package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func init() {
	commands["notebook"] = command{
		summary: "the GoNB notebooks: setup (install GoNB, Jupyter and the kernel), run (execute and check), check",
		run:     runNotebook,
	}
}

// Pinned versions of what `vit notebook setup` installs. GoNB must match the gonbui that go.mod requires.
const (
	gonbModule       = "github.com/janpfeifer/gonb"
	gonbVersion      = "v0.11.5"
	goimportsModule  = "golang.org/x/tools/cmd/goimports"
	goimportsVersion = "v0.34.0" // the golang.org/x/tools that GoNB v0.11.5 requires
)

// jupyterPackages are the PyPI packages that execute notebooks headlessly.
var jupyterPackages = []string{"nbclient==0.11.0", "nbformat==5.11.1", "jupyter_client==8.10.0", "jupyter_core==5.9.1"}

// kernelEnv is the environment every GoNB cell's `go build` needs (see the Makefile): Go 1.27 for GoMLX v0.28,
// the SIMD kernels of the pure-Go backend, and -mod=mod because `go mod tidy` fails offline.
var kernelEnv = [][2]string{{"GOTOOLCHAIN", "go1.27.4"}, {"GOEXPERIMENT", "simd"}, {"GOFLAGS", "-mod=mod"}}

//go:embed notebookrun.py
var notebookRunner string

func runNotebook(args []string, stdout, stderr io.Writer) error {
	usage := "setup|run|check [flags] [FILES.ipynb]"
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprintf(stderr, "Usage: vit notebook %s\n\n", usage)
		fmt.Fprintln(stderr, "  setup   install GoNB (pinned), goimports, the gonb kernel spec and a Python venv with nbclient")
		fmt.Fprintln(stderr, "  run     execute notebooks headlessly; fail on any error, panic, exit status or signal in a cell")
		fmt.Fprintln(stderr, "  check   check the stored outputs of notebooks: clean, complete and written from the current code")
		if len(args) == 0 {
			return usageErrorf("notebook needs a subcommand: %s", usage)
		}
		return nil
	}
	switch args[0] {
	case "setup":
		return notebookSetup(args[1:], stdout, stderr)
	case "run":
		return notebookRun(args[1:], stdout, stderr)
	case "check":
		return notebookCheck(args[1:], stdout, stderr)
	}
	return usageErrorf("unknown notebook subcommand %q: want %s", args[0], usage)
}

// notebookHome is where setup installs its tools: $VITNB_NOTEBOOK_HOME, else ~/.cache/vitnb/notebook.
func notebookHome() string {
	if d := os.Getenv("VITNB_NOTEBOOK_HOME"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "vitnb", "notebook")
}

// toolEnv returns the environment for GoNB and its cells: the current one with kernelEnv's variables (unless
// already set) and home/bin first in PATH.
func toolEnv(home string, extra ...string) []string {
	env := os.Environ()
	for _, kv := range kernelEnv {
		if os.Getenv(kv[0]) == "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	env = append(env, "PATH="+filepath.Join(home, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
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

func notebookSetup(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notebook setup", "", stderr)
	home := fs.String("home", notebookHome(), "folder for the tools (also $VITNB_NOTEBOOK_HOME)")
	python := fs.String("python", "python3", "Python 3 that creates the virtual environment")
	lab := fs.Bool("lab", false, "also install JupyterLab into the virtual environment, to browse the notebooks")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("notebook setup takes no arguments, got %q", fs.Args())
	}
	ctx := context.Background()
	h, err := filepath.Abs(*home)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(h, "gonbtool"), 0o755); err != nil {
		return err
	}
	env := toolEnv(h)

	// 1. Python virtual environment with nbclient (and JupyterLab with -lab).
	venv := filepath.Join(h, "venv")
	py := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(py); err != nil {
		if err := step(ctx, stdout, h, env, *python, "-m", "venv", venv); err != nil {
			return fmt.Errorf("%w\n(on Debian or Ubuntu: apt-get install python3-venv)", err)
		}
	}
	pkgs := append([]string{"-m", "pip", "install", "-q", "--disable-pip-version-check"}, jupyterPackages...)
	if *lab {
		pkgs = append(pkgs, "jupyterlab")
	}
	if err := step(ctx, stdout, h, env, py, pkgs...); err != nil {
		return err
	}

	// 2. GoNB and goimports, from a tool module (`go install gonb@version` fails: the proxy refuses its version
	// list, DESIGN.md section 1).
	tool := filepath.Join(h, "gonbtool")
	if _, err := os.Stat(filepath.Join(tool, "go.mod")); err != nil {
		if err := os.WriteFile(filepath.Join(tool, "go.mod"), []byte("module local/gonbtool\n\ngo 1.27\n"), 0o644); err != nil {
			return err
		}
	}
	if err := step(ctx, stdout, tool, env, "go", "get", "-tool", gonbModule+"@"+gonbVersion,
		goimportsModule+"@"+goimportsVersion); err != nil {
		return err
	}
	if err := step(ctx, stdout, tool, append(env, "GOBIN="+filepath.Join(h, "bin")), "go", "install", "tool"); err != nil {
		return err
	}

	// 3. The kernel spec, with the Go environment that every cell's build needs.
	gonb := filepath.Join(h, "bin", "gonb")
	if err := step(ctx, stdout, h, env, gonb, "--install", "--raw_error", "--force_deps"); err != nil {
		return err
	}
	spec, err := kernelSpecPath()
	if err != nil {
		return err
	}
	if err := patchKernelSpec(spec, h); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "GoNB %s kernel installed: %s\n", gonbVersion, spec)
	fmt.Fprintln(stdout, "run the notebooks: vit notebook run notebooks/*.ipynb")
	if *lab {
		fmt.Fprintf(stdout, "browse them:       %s lab notebooks/\n", filepath.Join(venv, "bin", "jupyter"))
	}
	return nil
}

// kernelSpecPath is where `gonb --install` writes kernel.json (GoNB's internal/kernel/install.go).
func kernelSpecPath() (string, error) {
	data := os.Getenv("JUPYTER_DATA_DIR")
	if data == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		data = filepath.Join(home, ".local", "share", "jupyter")
	}
	return filepath.Join(data, "kernels", "gonb", "kernel.json"), nil
}

// patchKernelSpec adds kernelEnv and home/bin (goimports) to the environment of the gonb kernel spec: GoNB runs
// `go build` for every cell, and Jupyter starts the kernel with its own environment.
func patchKernelSpec(path, home string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	env, _ := spec["env"].(map[string]any)
	if env == nil {
		env = map[string]any{}
	}
	for _, kv := range kernelEnv {
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

func notebookRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notebook run", "[flags] FILES.ipynb", stderr)
	budget := fs.String("budget", "quick", "quick (a few minutes each on 2 cores, as CI), default (at most about 10 minutes each, what the repository stores) or full; sets $VITNB_BUDGET")
	outDir := fs.String("o", "", "folder for the executed copies (default: a new temporary folder)")
	write := fs.Bool("write", false, "write each notebook that runs clean back in place, outputs and stamp included (what the repository stores)")
	timeout := fs.Duration("timeout", 0, "limit per notebook (and per cell); 0 means 15m with -budget quick, 30m with default, 60m with full")
	home := fs.String("home", notebookHome(), "folder of `vit notebook setup` (also $VITNB_NOTEBOOK_HOME)")
	python := fs.String("python", "", "Python with nbclient (default: the setup's virtual environment)")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if *budget != "quick" && *budget != "default" && *budget != "full" {
		return usageErrorf("-budget must be quick, default or full, got %q", *budget)
	}
	if fs.NArg() == 0 {
		return usageErrorf("notebook run needs notebook files")
	}
	if *timeout <= 0 {
		*timeout = 15 * time.Minute
		switch *budget {
		case "default":
			*timeout = 30 * time.Minute
		case "full":
			*timeout = 60 * time.Minute
		}
	}
	if *python == "" {
		*python = filepath.Join(*home, "venv", "bin", "python")
		if _, err := os.Stat(*python); err != nil {
			return fmt.Errorf("no Python with nbclient at %s: run `vit notebook setup` first", *python)
		}
	}
	if *outDir == "" {
		d, err := os.MkdirTemp("", "vitnb-notebooks-")
		if err != nil {
			return err
		}
		*outDir = d
	} else if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	runner := filepath.Join(*outDir, ".notebookrun.py")
	if err := os.WriteFile(runner, []byte(notebookRunner), 0o644); err != nil {
		return err
	}
	defer func() { _ = os.Remove(runner) }()

	failed := 0
	for _, path := range fs.Args() {
		problems, secs, err := runOneNotebook(path, *outDir, runner, *python, *home, *budget, *timeout, *write, stderr)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %v\n", path, err)
		case len(problems) > 0:
			failed++
			fmt.Fprintf(stdout, "FAIL %s (%.0fs):\n", path, secs)
			for _, p := range problems {
				fmt.Fprintf(stdout, "  %s\n", p)
			}
		default:
			fmt.Fprintf(stdout, "ok   %s (%.0fs, budget %s)\n", path, secs, *budget)
		}
	}
	fmt.Fprintf(stdout, "executed copies in %s\n", *outDir)
	if failed > 0 {
		return fmt.Errorf("%d of %d notebooks failed", failed, fs.NArg())
	}
	return nil
}

// runOneNotebook executes one notebook into outDir and checks it; with write, a clean result replaces the
// source.
func runOneNotebook(path, outDir, runner, python, home, budget string, timeout time.Duration, write bool,
	log io.Writer) ([]cellProblem, float64, error) {
	src, err := readNotebook(path)
	if err != nil {
		return nil, 0, err
	}
	stamp, err := json.Marshal(notebookStamp{Budget: budget, SourcesSHA256: src.sourcesHash()})
	if err != nil {
		return nil, 0, err
	}
	out := filepath.Join(outDir, filepath.Base(path))
	_ = os.Remove(out)
	fmt.Fprintf(log, "== %s (budget %s)\n", path, budget)
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, runner, path, out, fmt.Sprint(int(timeout.Seconds())), string(stamp))
	cmd.Env = toolEnv(home, "VITNB_BUDGET="+budget)
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	runErr := cmd.Run()
	secs := time.Since(start).Seconds()
	executed, err := readNotebook(out)
	if err != nil {
		if runErr != nil {
			return nil, secs, fmt.Errorf("the run failed (%v) and left no notebook", runErr)
		}
		return nil, secs, err
	}
	problems := checkOutputs(executed)
	if runErr != nil {
		var exitErr *exec.ExitError
		if !errors.As(runErr, &exitErr) {
			return problems, secs, runErr
		}
		why := "see the log above"
		if executed.Metadata.Vitnb != nil && executed.Metadata.Vitnb.Error != "" {
			why = executed.Metadata.Vitnb.Error
		}
		problems = append(problems, cellProblem{Cell: 0, Head: "notebook", What: "execution broke off: " + why})
	}
	if len(problems) == 0 && write {
		data, err := os.ReadFile(out)
		if err != nil {
			return nil, secs, err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, secs, err
		}
	}
	return problems, secs, nil
}

func notebookCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notebook check", "FILES.ipynb", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf("notebook check needs notebook files")
	}
	failed := 0
	for _, path := range fs.Args() {
		nb, err := readNotebook(path)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %v\n", path, err)
			continue
		}
		if problems := checkStored(nb); len(problems) > 0 {
			failed++
			fmt.Fprintf(stdout, "FAIL %s:\n", path)
			for _, p := range problems {
				fmt.Fprintf(stdout, "  %s\n", p)
			}
			continue
		}
		fmt.Fprintf(stdout, "ok   %s (outputs of budget %s, %.0fs)\n", path, nb.Metadata.Vitnb.Budget, nb.Metadata.Vitnb.Seconds)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d notebooks failed the check", failed, fs.NArg())
	}
	return nil
}
