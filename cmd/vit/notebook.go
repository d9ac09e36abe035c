package main

import (
	"cmp"
	"context"
	"io"

	"github.com/vitnb/vitnb/vitnb/notebook"
)

func notebookSetup(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notebook setup", "", stderr)
	home := fs.String("home", notebook.DefaultHome(), "folder for the tools (also $VITNB_NOTEBOOK_HOME)")
	python := fs.String("python", "python3", "Python 3 that creates the virtual environment")
	lab := fs.Bool("lab", false, "also check JupyterLab (it comes with nbgrader) and say how to browse the notebooks")
	force := fs.Bool("force", false, "install again even when the last setup left everything in place")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	in, err := notebook.Setup(context.Background(), notebook.SetupOptions{Home: *home, Python: *python, Lab: *lab, Force: *force, Log: stdout})
	if err == nil {
		in.Describe(stdout)
	}
	return err
}

func notebookLab(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notebook lab", "[flags] [FOLDER]", stderr)
	home := fs.String("home", notebook.DefaultHome(), "folder of 'vit notebook setup -lab' (also $VITNB_NOTEBOOK_HOME)")
	ip := fs.String("ip", "127.0.0.1", "address to listen on (0.0.0.0: every interface)")
	port := intFlag(fs, "port", 8888, 1, 65535, "port to listen on")
	token := fs.String("token", "", "the server's token (default $JUPYTER_TOKEN, else a random one)")
	budget := fs.String("budget", "", "set $VITNB_BUDGET (quick, default or full) for the notebooks' kernels")
	quiet := fs.Bool("quiet", false, "do not show JupyterLab's log")
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageErrorf("takes one folder, got %q", fs.Args())
	}
	if err := notebook.CheckBudget(*budget); err != nil {
		return usageErrorf("-budget: %v", err)
	}
	return notebook.Serve(context.Background(), notebook.LabOptions{Home: *home, Dir: cmp.Or(fs.Arg(0), "notebooks"),
		IP: *ip, Port: *port, Token: *token, Budget: *budget, Log: stderr, Quiet: *quiet}, stdout)
}

func notebookRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notebook run", "[flags] FILES.ipynb", stderr)
	budget := fs.String("budget", "quick", "quick (a few minutes each on 2 cores, as CI), default (at most about 10 minutes each, what the repository stores) or full; sets $VITNB_BUDGET")
	outDir := fs.String("o", "", "folder for the executed copies (default: a new temporary folder)")
	write := fs.Bool("write", false, "write each notebook that runs clean back in place, outputs and stamp included (what the repository stores)")
	timeout := fs.Duration("timeout", 0, "limit per notebook (and per cell); 0 means 15m with -budget quick, 30m with default, 60m with full")
	home := fs.String("home", notebook.DefaultHome(), "folder of 'vit notebook setup' (also $VITNB_NOTEBOOK_HOME)")
	python := fs.String("python", "", "Python with nbclient (default: the setup's virtual environment)")
	paths, err := parseArgs(fs, args, -1, "notebook files")
	if err != nil {
		return err
	}
	opts := notebook.RunOptions{OutDir: *outDir, Python: *python, Home: *home, Budget: *budget, Timeout: *timeout,
		Write: *write, Log: stderr}
	if err := opts.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	return notebook.RunAll(context.Background(), paths, opts, stdout)
}

func notebookCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notebook check", "FILES.ipynb", stderr)
	numbers := fs.Bool("numbers", false, "also list every number in the prose and the output that holds it (or none), for a reread")
	paths, err := parseArgs(fs, args, -1, "notebook files")
	if err != nil {
		return err
	}
	return notebook.CheckAll(paths, *numbers, stdout)
}

func notebookCourse(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notebook course", "[-check BUDGET] DIR [NOTEBOOKS.ipynb...]   (default notebooks/*.ipynb)", stderr)
	check := "" // validated as it is parsed: a usage error
	fs.Func("check", "then autograde both versions with this budget (quick: CI's); fail unless the solutions score every point and the stubs none",
		func(s string) error { check = s; return notebook.CheckBudget(s) })
	paths, err := parseArgs(fs, args, -1, "the course folder")
	if err != nil {
		return err
	}
	return notebook.RunCourse(context.Background(), notebook.CourseOptions{Dir: paths[0], Notebooks: paths[1:], Log: stderr}, check, stdout)
}
