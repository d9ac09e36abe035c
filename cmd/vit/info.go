package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"

	"github.com/gomlx/compute"
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
	if !backend.SIMDBuild {
		fmt.Fprintln(stdout, "WARNING: this binary was built without GOEXPERIMENT=simd: the pure-Go backend runs 13-16x slower.")
		fmt.Fprintln(stdout, "         Rebuild with: GOEXPERIMENT=simd go install ./cmd/vit")
	}
	b, choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backend:   %s\n", choice.Config)
	fmt.Fprintf(stdout, "why:       %s\n", choice.Reason)
	for _, f := range choice.Fallbacks {
		fmt.Fprintf(stdout, "tried:     %s\n", f)
	}
	fmt.Fprintf(stdout, "details:   %s\n", b.Description())
	for i := 0; i < b.NumDevices(); i++ {
		fmt.Fprintf(stdout, "device %d:  %s\n", i, b.DeviceDescription(compute.DeviceNum(i)))
	}
	plugins := backend.XLAPlugins()
	names := make([]string, 0, len(plugins))
	for name := range plugins {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(stdout, "plugin:    xla:%s at %s\n", name, plugins[name])
	}
	if len(plugins) == 0 {
		fmt.Fprintln(stdout, "plugin:    none (XLA needs a PJRT plugin in ~/.local/lib/go-xla or $PJRT_PLUGIN_LIBRARY_PATH)")
	}
	fmt.Fprintf(stdout, "cpus:      %d\n", runtime.NumCPU())
	fmt.Fprintf(stdout, "malloc:    %s\n", backend.MallocStatus())
	fmt.Fprintf(stdout, "simd:      %v (GOEXPERIMENT=simd build)\n", backend.SIMDBuild)
	fmt.Fprintf(stdout, "go:        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "gomlx:     %s\n", moduleVersion("github.com/gomlx/gomlx"))
	fmt.Fprintf(stdout, "go-xla:    %s\n", moduleVersion("github.com/gomlx/go-xla"))
	fmt.Fprintf(stdout, "vitnb:     %s\n", moduleVersion(""))
	return nil
}

// moduleVersion returns the version of a module linked into this binary ("" for the main module), as the Go
// toolchain recorded it.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if path == "" {
		v := info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		return v
	}
	for _, dep := range info.Deps {
		if dep.Path == path {
			if dep.Replace != nil {
				return dep.Version + " => " + dep.Replace.Path + " " + dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "not linked"
}
