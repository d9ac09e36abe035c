package main

import (
	"io"

	"github.com/vitnb/vitnb/vitnb/backend"
)

func runInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", "", stderr)
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	return backend.Info(stdout)
}
