// Command vit runs every job of the vitnb notebooks from scripts: backend information, parameter tables,
// prediction, data sets, weights, training and benchmarks.
//
// Usage:
//
//	vit COMMAND [flags] [args]
//
// Each command registers itself in commands (see the other files of this package) and answers -h.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/vitnb/vitnb/vitnb/backend"
)

// command is one subcommand of vit.
type command struct {
	// summary is the one line shown by `vit help`.
	summary string
	// run executes the command with the arguments that follow its name. It returns errUsage (possibly wrapped)
	// for bad flags or arguments, which makes vit exit with status 2.
	run func(args []string, stdout, stderr io.Writer) error
}

// commands holds every subcommand by name; files of this package add to it in init functions.
var commands = map[string]command{}

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

// runMain runs vit with args and returns the exit status: 0 on success, 1 on failure, 2 on a usage error.
func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "vit: unknown command %q; run `vit help` for the list\n", args[0])
		return 2
	}
	err := cmd.run(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "vit %s: %s\n", args[0], strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		return 2
	default:
		fmt.Fprintf(stderr, "vit %s: %v\n", args[0], err)
		return 1
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "vit: Vision Transformers on GoMLX (https://arxiv.org/abs/2010.11929)")
	fmt.Fprintln(w, "\nUsage: vit COMMAND [flags] [args]   (vit COMMAND -h for the flags of one)")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
}

// subcommand is one verb of a command that has several (vit data get, vit weights list, vit notebook run).
type subcommand struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

// runSubcommands runs the subcommand that args[0] names; with none, or -h, it lists them (none is a usage error).
func runSubcommands(command string, subs []subcommand, args []string, stdout, stderr io.Writer) error {
	var names []string
	for _, s := range subs {
		names = append(names, s.name)
	}
	want := strings.Join(names, ", ")
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stderr, "Usage: vit %s SUBCOMMAND [flags] [args]   (vit %s SUBCOMMAND -h for its flags)\n\nSubcommands:\n", command, command)
		for _, s := range subs {
			fmt.Fprintf(stderr, "  %-8s %s\n", s.name, s.summary)
		}
		if len(args) == 0 {
			return usageErrorf("%s wants a subcommand: %s", command, want)
		}
		return flag.ErrHelp
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(args[1:], stdout, stderr)
		}
	}
	return usageErrorf("unknown %s subcommand %q: want %s", command, args[0], want)
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
// takes any number).
func parseArgs(fs *flag.FlagSet, args []string, want int, what string) ([]string, error) {
	if err := parseFlags(fs, interleave(fs, args)); err != nil {
		return nil, err
	}
	pos, name := fs.Args(), strings.TrimPrefix(fs.Name(), "vit ")
	switch {
	case want < 0 || len(pos) == want:
		return pos, nil
	case want == 0:
		return nil, usageErrorf("%s takes no arguments, got %q", name, pos)
	case len(pos) == 0:
		return nil, usageErrorf("%s: missing %s", name, what)
	}
	return nil, usageErrorf("%s: want %s, got %q", name, what, pos)
}

// parseFlags parses args with fs; errors other than -h become usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErrorf("%v", err)
	}
	return nil
}
