package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/vitnb/vitnb/vitnb/files"
	"github.com/vitnb/vitnb/vitnb/weights"
)

func weightsList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("weights list", "[-json] [-cache DIR]", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	cache := fs.String("cache", files.WeightsDir(), "cache folder ($VITNB_WEIGHTS_DIR, else ~/.cache/vitnb/weights)")
	if _, err := parseArgs(fs, args, 0, ""); err != nil {
		return err
	}
	return weights.WriteCatalog(stdout, *cache, *asJSON)
}

func weightsGet(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("weights get", "[-cache DIR] [-mirror URL] [-offline] NAME | hf:ORG/NAME", stderr)
	cache := fs.String("cache", files.WeightsDir(), "cache folder ($VITNB_WEIGHTS_DIR, else ~/.cache/vitnb/weights)")
	mirror := fs.String("mirror", "", "replace https://storage.googleapis.com and https://huggingface.co by this URL prefix")
	offline := fs.Bool("offline", false, "use only what the caches hold (hf: names also honour HF_HUB_OFFLINE)")
	quiet := fs.Bool("q", false, "no progress bar")
	pos, err := parseArgs(fs, args, 1, "one checkpoint name (see vit weights list), or hf:ORG/NAME")
	if err != nil {
		return err
	}
	name := pos[0]
	if !strings.HasPrefix(name, "hf:") {
		if _, err := weights.Lookup(name); err != nil {
			return usageErrorf("%v; or hf:ORG/NAME for a Hugging Face Hub model", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := weights.ResolveOptions{CacheDir: *cache, Mirror: *mirror, Offline: *offline, Progress: stderr}
	if *quiet {
		opts.Progress = nil
	}
	path, err := weights.Resolve(ctx, name, opts)
	if errors.Is(err, weights.ErrName) {
		return usageErrorf("%v", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}

func weightsInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("weights info", "[-heads N] [-preset P] FILE", stderr)
	heads := fs.Int("heads", 0, "attention heads, for timm files that do not say it")
	preset := fs.String("preset", "", "check the file against this preset's architecture")
	pos, err := parseArgs(fs, args, 1, "one weights file")
	if err != nil {
		return err
	}
	info, err := weights.Inspect(pos[0], weights.Options{Heads: *heads, Preset: *preset})
	if err != nil {
		return err
	}
	info.Describe(stdout)
	return nil
}

func weightsConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("weights convert", "[-heads N] [-config config.json] FILE -o OUT.safetensors", stderr)
	heads := fs.Int("heads", 0, "attention heads, for timm files that do not say it")
	out := fs.String("o", "", "output file (timm naming, safetensors)")
	configPath := fs.String("config", "", "also write a timm hub config.json here (architecture, model_args, preprocessing); "+
		"as config.json beside the output, vit and timm read it back")
	pos, err := parseArgs(fs, args, 1, "one weights file")
	if err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("-o OUT.safetensors is required")
	}
	summary, err := weights.Convert(pos[0], *out, *configPath, weights.Options{Heads: *heads})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, summary)
	return nil
}
