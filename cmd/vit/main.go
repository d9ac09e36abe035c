// Command vit runs every job of the vitnb notebooks from scripts: backend information, parameter tables,
// prediction, data sets, weights, training and benchmarks.
//
// Usage:
//
//	vit COMMAND [flags] [args]
//
// The table commands lists them; each is in the file of its name, and answers -h.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/vitnb/backend"
)

// command is one command of vit.
type command struct {
	// name is the command's name, or a group's name and a verb ("data get").
	name string
	// summary is the one line shown by `vit help`.
	summary string
	// run executes the command with the arguments that follow its name. It returns errUsage (possibly wrapped)
	// for bad flags or arguments, which makes vit exit with status 2.
	run func(args []string, stdout, stderr io.Writer) error
}

// commands are vit's commands, in the order `vit help` lists them; each is in the file of its name.
var commands = []command{
	{"info", "the backend vit runs on and why, its devices, and the versions of Go, GoMLX and vitnb", runInfo},
	{"params", "the parameters of a preset, per part of the model, and their total", runParams},
	{"predict", "classify images with a ViT (random weights unless -weights: a file, a catalog name or hf:ORG/NAME)", runPredict},
	{"pretrain", "train a ViT from scratch on a data set (AdamW, warm-up and decay), with checkpoints and a results file",
		func(args []string, stdout, stderr io.Writer) error { return runTrain("pretrain", args, stdout, stderr) }},
	{"finetune", "fine-tune a trained ViT on a data set as the paper (SGD momentum, cosine, clip 1, zero head)",
		func(args []string, stdout, stderr io.Writer) error { return runTrain("finetune", args, stdout, stderr) }},
	{"eval", "evaluate a trained ViT: top-1, top-5, per-class accuracy and confusion matrix", runEval},
	{"fewshot", "the paper's few-shot linear evaluation of a trained ViT's frozen representation (1/5/10/25 shots)", runFewShot},
	{"probe", "linear probe: logistic regression on a trained ViT's frozen representation of the training set", runProbe},
	{"attention", "draw what a trained ViT looks at: attention rollout over test images (the paper's Fig. 6)", runAttention},
	{"bench", "images/s, GFLOP/s and memory of training or inference steps of a preset (random data)", runBench},
	{"data list", "the data sets and where their files are", runDataList},
	{"data get", "NAME: download a data set (or find it offline)", runDataGet},
	{"data show", "NAME: source, checksums, classes and counts per split", runDataShow},
	{"data sample", "NAME [-n 16] [-o grid.png]: a grid of pictures", runDataSample},
	{"weights list", "known checkpoints (Google .npz, Hugging Face, timm) with their URLs and cache state", weightsList},
	{"weights get", "NAME or hf:ORG/NAME: download a checkpoint into the cache (the Hub's own for hf:), resumed and verified", weightsGet},
	{"weights info", "FILE: format, inferred architecture, preprocessing of a weights file (.npz or .safetensors)", weightsInfo},
	{"weights convert", "FILE -o OUT.safetensors: load any format and save it in timm's naming, for PyTorch", weightsConvert},
	{"notebook setup", "install GoNB (pinned), goimports, gopls, the gonb kernel spec and a venv with nbclient, nbgrader, JupyterLab", notebookSetup},
	{"notebook lab", "start JupyterLab on a folder of notebooks (after setup -lab) and print its address", notebookLab},
	{"notebook run", "execute notebooks headlessly; fail on any error, panic, exit status or signal in a cell", notebookRun},
	{"notebook check", "check the stored outputs of notebooks: clean, complete and written from the current code", notebookCheck},
	{"notebook course", "DIR: an nbgrader course of the notebooks, the students' versions made (-check: graded as CI does)", notebookCourse},
}

// errUsage marks errors caused by bad flags or arguments: vit prints them and exits with status 2.
var errUsage = errors.New("usage error")

// usageErrorf returns an error that wraps errUsage with a message.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func main() {
	backend.RestartWithMallocTunables()
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// isHelp tells whether arg asks for help.
func isHelp(arg string) bool { return slices.Contains([]string{"help", "-h", "-help", "--help"}, arg) }

// runMain runs vit with args and returns the exit status: 0 on success, 1 on failure, 2 on a usage error.
func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) {
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest, err := lookup(args, stderr)
	if err == nil {
		err = cmd.run(rest, stdout, stderr)
	}
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "vit %s: %s\n", cmp.Or(cmd.name, args[0]), strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		return 2
	default:
		fmt.Fprintf(stderr, "vit %s: %v\n", cmp.Or(cmd.name, args[0]), err)
		return 1
	}
}

// lookup returns the command args name and the arguments that follow its name: one word, or a group and a verb
// (vit data get). A group without a known verb lists its verbs on stderr.
func lookup(args []string, stderr io.Writer) (command, []string, error) {
	var verbs []string
	for _, c := range commands {
		if c.name == args[0] {
			return c, args[1:], nil
		}
		if group, verb, _ := strings.Cut(c.name, " "); group == args[0] {
			if len(args) > 1 && verb == args[1] {
				return c, args[2:], nil
			}
			verbs = append(verbs, fmt.Sprintf("  %-8s %s", verb, c.summary))
		}
	}
	if len(verbs) == 0 {
		return command{}, nil, usageErrorf("unknown command; run `vit help` for the list")
	}
	fmt.Fprintf(stderr, "Usage: vit %s SUBCOMMAND [flags] [args]   (vit %s SUBCOMMAND -h for its flags)\n\nSubcommands:\n%s\n",
		args[0], args[0], strings.Join(verbs, "\n"))
	switch {
	case len(args) == 1:
		return command{}, nil, usageErrorf("%s wants a subcommand", args[0])
	case isHelp(args[1]):
		return command{}, nil, flag.ErrHelp
	}
	return command{}, nil, usageErrorf("unknown %s subcommand %q", args[0], args[1])
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, "vit: Vision Transformers on GoMLX (https://arxiv.org/abs/2010.11929)\n\n"+
		"Usage: vit COMMAND [flags] [args]   (vit COMMAND -h for the flags of one)\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
}

// newFlagSet returns a flag set for a subcommand that reports errors instead of exiting, and prints its usage
// (with the given argument synopsis) to stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vit "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vit %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// intIn is an int flag whose value must lie in [lo, hi]: parsing refuses any other, a usage error.
type intIn struct {
	p      *int
	lo, hi int
}

// intVar defines on fs an int flag stored in p (whose value is the default) that takes values in [lo, hi].
func intVar(fs *flag.FlagSet, p *int, name string, lo, hi int, usage string) {
	fs.Var(intIn{p, lo, hi}, name, usage)
}

// intFlag defines on fs an int flag with a default value that takes values in [lo, hi].
func intFlag(fs *flag.FlagSet, name string, value, lo, hi int, usage string) *int {
	intVar(fs, &value, name, lo, hi, usage)
	return &value
}

func (v intIn) String() string {
	if v.p == nil { // the zero value, for flag.PrintDefaults
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v intIn) Set(s string) error {
	n, err := strconv.Atoi(s)
	switch {
	case err == nil && n >= v.lo && n <= v.hi:
		*v.p = n
		return nil
	case v.hi == math.MaxInt:
		return fmt.Errorf("want a whole number >= %d", v.lo)
	}
	return fmt.Errorf("want a whole number in %d..%d", v.lo, v.hi)
}

// parseArgs parses args with fs, flags before or after the positional arguments (vit data get NAME -dir D), and
// returns the positional arguments after checking there are want of them (what names them in messages; want < 0
// takes one or more).
func parseArgs(fs *flag.FlagSet, args []string, want int, what string) ([]string, error) {
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return nil, err
	}
	pos := fs.Args()
	switch {
	case len(pos) == want || (want < 0 && len(pos) > 0):
		return pos, nil
	case want == 0:
		return nil, usageErrorf("takes no arguments, got %q", pos)
	case len(pos) == 0:
		return nil, usageErrorf("missing %s", what)
	}
	return nil, usageErrorf("want %s, got %q", what, pos)
}

// parseFlags parses args with fs; errors other than -h become usage errors, in one line (-h lists the flags).
func parseFlags(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if fs.SetOutput(out); errors.Is(err, flag.ErrHelp) {
		usage()
	} else if err != nil {
		return usageErrorf("%v", err)
	}
	return err
}
