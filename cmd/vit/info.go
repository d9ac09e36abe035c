package main

import (
	"io"

	"github.com/vitnb/vitnb/vitnb/backend"
)

func init() {
	commands["info"] = command{
		summary: "the backend vit runs on and why, its devices, and the versions of Go, GoMLX and vitnb",
		run:     runInfo,
	}
}

func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", "", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("info takes no arguments, got %q", fs.Args())
	}
	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	backend.Report(stdout, b, choice)
	return nil
}
