package notebook

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunAll runs notebooks one after the other (Run) into o.OutDir, which it creates (a new temporary folder when
// o.OutDir is ""), and writes a line for each to w: "ok   PATH (seconds, budget)", or "FAIL PATH" with its
// problems; last, where the executed copies are. It returns an error that counts the failures.
func RunAll(ctx context.Context, paths []string, o RunOptions, w io.Writer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Budget == "" {
		o.Budget = "quick"
	}
	var err error
	if o.OutDir == "" {
		o.OutDir, err = os.MkdirTemp("", "vitnb-notebooks-")
	} else {
		err = os.MkdirAll(o.OutDir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("notebook run: %w", err)
	}
	failed := 0
	for _, path := range paths {
		res, err := Run(ctx, path, o)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(w, "FAIL %s: %v\n", path, err)
		case len(res.Problems) > 0:
			failed++
			fmt.Fprintf(w, "FAIL %s (%.0fs):\n", path, res.Seconds)
			for _, p := range res.Problems {
				fmt.Fprintf(w, "  %s\n", p)
			}
		default:
			fmt.Fprintf(w, "ok   %s (%.0fs, budget %s)\n", path, res.Seconds, o.Budget)
		}
	}
	fmt.Fprintf(w, "executed copies in %s\n", o.OutDir)
	if failed > 0 {
		return fmt.Errorf("%d of %d notebooks failed", failed, len(paths))
	}
	return nil
}

// CheckAll checks the outputs stored in notebooks (Read, CheckStored) and writes a line for each to w: "ok   PATH
// (outputs of budget B, seconds)", or "FAIL PATH" with its problems. With numbers, it first lists the numbers of
// each notebook's prose and the outputs that hold them (WriteNumbers). It returns an error that counts the
// failures.
func CheckAll(paths []string, numbers bool, w io.Writer) error {
	failed := 0
	for _, path := range paths {
		nb, err := Read(path)
		if err != nil {
			failed++
			fmt.Fprintf(w, "FAIL %s: %v\n", path, err)
			continue
		}
		if numbers {
			WriteNumbers(w, path, nb)
		}
		if problems := CheckStored(nb); len(problems) > 0 {
			failed++
			fmt.Fprintf(w, "FAIL %s:\n", path)
			for _, p := range problems {
				fmt.Fprintf(w, "  %s\n", p)
			}
			continue
		}
		fmt.Fprintf(w, "ok   %s (outputs of budget %s, %.0fs)\n", path, nb.Metadata.Vitnb.Budget, nb.Metadata.Vitnb.Seconds)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d notebooks failed the check", failed, len(paths))
	}
	return nil
}

// Serve starts JupyterLab (StartLab), says its address on w, and runs it until it ends, ctx is done or the
// process is interrupted (Ctrl-C, SIGTERM), then stops it and its kernels.
func Serve(ctx context.Context, o LabOptions, w io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	lab, err := StartLab(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "JupyterLab on %s: %s\n", o.Dir, lab.URL)
	fmt.Fprintln(w, "(Ctrl-C stops it and its kernels)")
	done := make(chan error, 1)
	go func() { done <- lab.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("JupyterLab ended: %w", err)
		}
		return nil
	case <-ctx.Done():
		fmt.Fprintln(w, "stopping JupyterLab")
		return lab.Stop()
	}
}
