package notebook

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
	"slices"
	"strings"
	"time"

	"github.com/vitnb/vitnb/vitnb/files"
)

//go:embed notebookrun.py
var runnerScript string

// Budgets are the values of $VITNB_BUDGET the notebooks know (package nb's): quick (a few minutes each on 2 cores,
// as CI), default (at most about 10 minutes each, what the repository stores) and full.
var Budgets = []string{"quick", "default", "full"}

// CheckBudget returns an error unless budget is one of Budgets or "" (the default of RunOptions and LabOptions).
func CheckBudget(budget string) error {
	if budget != "" && !slices.Contains(Budgets, budget) {
		return fmt.Errorf("unknown budget %q: want one of %s", budget, strings.Join(Budgets, ", "))
	}
	return nil
}

// Validate checks the options' values (RunAll and Run call it); messages name the flags of `vit notebook run`.
func (o RunOptions) Validate() error {
	if err := CheckBudget(o.Budget); err != nil {
		return fmt.Errorf("-budget: %w", err)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("-timeout must not be negative, got %s", o.Timeout)
	}
	return nil
}

// DefaultTimeout is the limit per notebook (and per cell) of a budget: 15 minutes for quick, 30 for default, 60
// for full.
func DefaultTimeout(budget string) time.Duration {
	switch budget {
	case "default":
		return 30 * time.Minute
	case "full":
		return 60 * time.Minute
	}
	return 15 * time.Minute
}

// RunOptions says how Run executes a notebook.
type RunOptions struct {
	// OutDir receives the executed copy (same base name as the notebook). Run wants it to exist; RunAll creates
	// it, and a new temporary folder when it is "" (it says which).
	OutDir string
	// Python is a Python with nbclient (the setup's virtual environment when empty).
	Python string
	// Home is the folder of Setup (DefaultHome when empty).
	Home string
	// Budget is set as $VITNB_BUDGET for the cells ("quick" when empty; see CheckBudget).
	Budget string
	// Timeout is the limit per notebook and per cell (DefaultTimeout(Budget) when 0).
	Timeout time.Duration
	// Write replaces the notebook with its executed copy when it ran clean (what the repository stores).
	Write bool
	// Log receives the runner's progress, one line per cell (io.Discard when nil).
	Log io.Writer
}

// Result is the outcome of one Run.
type Result struct {
	// Executed is the executed copy in OutDir.
	Executed string
	// Seconds is the wall time of the run.
	Seconds float64
	// Problems are the failures found in the executed copy; empty when it ran clean.
	Problems []Problem
}

// Run executes the notebook at path with nbclient through the gonb kernel into OutDir, every cell even after
// an error, and checks the outputs (CheckOutputs). A run that broke off (a cell's time limit, the kernel died)
// is one more Problem. The error is for what prevented checking at all (no Python, no notebook left).
func Run(ctx context.Context, path string, o RunOptions) (*Result, error) {
	if o.Home == "" {
		o.Home = DefaultHome()
	}
	if err := files.CheckCache(o.Home); err != nil { // its Python and gonb run
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Budget == "" {
		o.Budget = "quick"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout(o.Budget)
	}
	if o.Python == "" {
		o.Python = filepath.Join(o.Home, "venv", "bin", "python")
		if _, err := os.Stat(o.Python); err != nil {
			return nil, fmt.Errorf("no Python with nbclient at %s: run `vit notebook setup` first", o.Python)
		}
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	src, err := Read(path)
	if err != nil {
		return nil, err
	}
	stamp, err := json.Marshal(Stamp{Budget: o.Budget, SourcesSHA256: src.SourcesHash()})
	if err != nil {
		return nil, err
	}
	runner, err := os.CreateTemp(o.OutDir, ".notebookrun-*.py")
	if err != nil {
		return nil, fmt.Errorf("notebook run: %w", err)
	}
	defer func() { _ = os.Remove(runner.Name()) }()
	if _, err := io.WriteString(runner, runnerScript); err != nil {
		runner.Close()
		return nil, fmt.Errorf("notebook run: %w", err)
	}
	if err := runner.Close(); err != nil {
		return nil, fmt.Errorf("notebook run: %w", err)
	}

	out := filepath.Join(o.OutDir, filepath.Base(path))
	_ = os.Remove(out)
	fmt.Fprintf(log, "== %s (budget %s)\n", path, o.Budget)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.Python, runner.Name(), path, out, fmt.Sprint(int(o.Timeout.Seconds())), string(stamp))
	cmd.Env = ToolEnv(o.Home, "VITNB_BUDGET="+o.Budget)
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	runErr := cmd.Run()
	res := &Result{Executed: out, Seconds: time.Since(start).Seconds()}
	executed, err := Read(out)
	if err != nil {
		if runErr != nil {
			return res, fmt.Errorf("the run failed (%v) and left no notebook", runErr)
		}
		return res, err
	}
	res.Problems = CheckOutputs(executed)
	if runErr != nil {
		var exitErr *exec.ExitError
		if !errors.As(runErr, &exitErr) {
			return res, runErr
		}
		why := "see the log above"
		if executed.Metadata.Vitnb != nil && executed.Metadata.Vitnb.Error != "" {
			why = executed.Metadata.Vitnb.Error
		}
		res.Problems = append(res.Problems, Problem{Cell: 0, Head: "notebook", What: "execution broke off: " + why})
	}
	if len(res.Problems) == 0 && o.Write {
		data, err := os.ReadFile(out)
		if err != nil {
			return res, err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return res, fmt.Errorf("writing the executed notebook back: %w", err)
		}
	}
	return res, nil
}
