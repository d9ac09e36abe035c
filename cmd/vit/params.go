package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

func init() {
	commands["params"] = command{
		summary: "the parameters of a preset, per part of the model, and their total",
		run:     runParams,
	}
}

func runParams(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("params", "[model flags] PRESET", stderr)
	mf := addModelFlags(fs, false)
	pos, err := parseArgs(fs, args, 1, "one preset name (e.g. B/16)")
	if err != nil {
		return err
	}
	mf.preset = pos[0]
	cfg, err := mf.config()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, cfg)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "part\tparameters\t")
	for _, g := range cfg.ParamTable() {
		fmt.Fprintf(tw, "%s\t%d\t\n", g.Part, g.Count)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "total %d\n", cfg.NumParams())
	return nil
}
