package main

import "io"

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
	return cfg.WriteParamTable(stdout)
}
