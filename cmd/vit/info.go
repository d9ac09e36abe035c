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
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	return backend.Info(stdout)
}
