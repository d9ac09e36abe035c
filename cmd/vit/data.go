package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/vitnb/vitnb/datasets"
	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/training"
	"github.com/vitnb/vitnb/vitnb/viz"
)

func runDataList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data list", "[-dir D]", stderr)
	dir := fs.String("dir", "", "cache folder (default "+datasets.DefaultDir()+")")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	return datasets.WriteList(stdout, *dir)
}

func runDataGet(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data get", "NAME [-dir D]", stderr)
	dir := fs.String("dir", "", "cache folder (default "+datasets.DefaultDir()+")")
	pos, err := parseArgs(fs, args, 1, "one data set NAME")
	if err != nil {
		return err
	}
	info, err := datasets.Lookup(pos[0])
	if err != nil {
		return usageErrorf("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	d, origin, err := datasets.Fetch(ctx, info, *dir, &files.Downloader{Progress: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: files in %s (%s)\n", info.Name, d, origin)
	return nil
}

func runDataShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data show", "NAME [-dir D] [-holdout F]", stderr)
	dir := fs.String("dir", "", "cache folder (default "+datasets.DefaultDir()+")")
	var d training.Data
	fs.Func("holdout", "fraction of train held out as validation (default the paper's; -1: none)", d.SetHoldout)
	pos, err := parseArgs(fs, args, 1, "one data set NAME")
	if err != nil {
		return err
	}
	// Files that are not the published ones are shown (and counted as warnings), not refused.
	ds, err := loadForCommand(pos[0], datasets.Options{Dir: *dir, Holdout: d.Holdout, KeepMismatched: true})
	if err != nil {
		return err
	}
	return ds.Describe(stdout)
}

func runDataSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data sample", "NAME [-n 16] [-o grid.png] [-split train] [-size 96] [-augment] [-seed 1]",
		stderr)
	dir := fs.String("dir", "", "cache folder (default "+datasets.DefaultDir()+")")
	n := intFlag(fs, "n", 16, 1, 1024, "number of pictures")
	out := fs.String("o", "grid.png", "PNG file to write")
	split := fs.String("split", "", "split to sample from (default train, or all for images:PATH)")
	size := intFlag(fs, "size", 96, 8, 1024, "picture size in pixels")
	cols := intFlag(fs, "cols", 0, 0, 1024, "columns of the grid (default about sqrt(n))")
	augment := fs.Bool("augment", false, "show training augmentation (random crop and flip)")
	seed := fs.Uint64("seed", 1, "random seed for the choice of pictures and augmentation")
	pos, err := parseArgs(fs, args, 1, "one data set NAME")
	if err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("-o must name a PNG file")
	}
	ds, err := loadForCommand(pos[0], datasets.Options{Dir: *dir})
	if err != nil {
		return err
	}
	ds.WriteWarnings(stderr)
	*split = cmp.Or(*split, ds.SplitNames()[0])
	batch, captions, err := ds.Sample(*split, *n, *size, *augment, *seed, func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) })
	if err != nil {
		return err
	}
	pics, err := viz.Pictures(batch.Images, batch.N, batch.Height, batch.Width, batch.Channels, -1, 1)
	if err != nil {
		return err
	}
	if err := viz.SavePNG(*out, viz.ContactSheet(pics, captions, *cols)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d pictures from %s/%s\n", *out, batch.N, ds.Name, *split)
	return nil
}

// loadForCommand loads a data set, turning an unknown name into a usage error.
func loadForCommand(name string, opts datasets.Options) (*datasets.Dataset, error) {
	if !strings.HasPrefix(name, "folder:") && !strings.HasPrefix(name, "images:") {
		if _, err := datasets.Lookup(name); err != nil {
			return nil, usageErrorf("%v", err)
		}
	}
	return datasets.Load(name, opts)
}
