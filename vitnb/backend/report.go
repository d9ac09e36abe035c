package backend

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"

	"github.com/gomlx/compute"
)

// Info chooses the backend as New does and writes its Report to w: what `vit info` prints.
func Info(w io.Writer) error {
	b, choice, err := New()
	if err != nil {
		return err
	}
	Report(w, b, choice)
	return nil
}

// Report writes what `vit info` prints: the backend chosen and why, the fallbacks tried, its devices, the XLA
// plugins found, the attention formulation, the CPU (model, cores, vector extensions), the malloc setting, the
// build and the versions of Go, GoMLX, go-xla and vitnb.
func Report(w io.Writer, b compute.Backend, choice Choice) {
	WarnSIMD(w)
	fmt.Fprintf(w, "backend:   %s\n", choice.Config)
	fmt.Fprintf(w, "why:       %s\n", choice.Reason)
	for _, f := range choice.Fallbacks {
		fmt.Fprintf(w, "tried:     %s\n", f)
	}
	fmt.Fprintf(w, "details:   %s\n", b.Description())
	for i := 0; i < b.NumDevices(); i++ {
		fmt.Fprintf(w, "device %d:  %s\n", i, b.DeviceDescription(compute.DeviceNum(i)))
	}
	plugins := XLAPlugins()
	names := make([]string, 0, len(plugins))
	for name := range plugins {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "plugin:    xla:%s at %s\n", name, plugins[name])
	}
	if len(plugins) == 0 {
		fmt.Fprintln(w, "plugin:    none (XLA needs a PJRT plugin in ~/.local/lib/go-xla or $PJRT_PLUGIN_LIBRARY_PATH)")
	}
	if a, why, err := AttentionFor(b, AttentionAuto); err == nil {
		fmt.Fprintf(w, "attention: %s (%s)\n", a, why)
	}
	if cpu, ok := ReadCPU(); ok {
		fmt.Fprintf(w, "cpu:       %s\n", cpu)
	}
	fmt.Fprintf(w, "cpus:      %d\n", runtime.NumCPU())
	fmt.Fprintf(w, "malloc:    %s\n", MallocStatus())
	fmt.Fprintf(w, "simd:      %v (GOEXPERIMENT=simd build)\n", SIMDBuild)
	fmt.Fprintf(w, "go:        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "gomlx:     %s\n", ModuleVersion("github.com/gomlx/gomlx"))
	fmt.Fprintf(w, "go-xla:    %s\n", ModuleVersion("github.com/gomlx/go-xla"))
	fmt.Fprintf(w, "vitnb:     %s\n", ModuleVersion(""))
}

// WarnSIMD writes a warning and how to rebuild to w when this binary was built without GOEXPERIMENT=simd (the
// pure-Go backend then runs 13-16x slower), and nothing otherwise.
func WarnSIMD(w io.Writer) {
	if !SIMDBuild {
		fmt.Fprintln(w, "WARNING: this binary was built without GOEXPERIMENT=simd: the pure-Go backend runs 13-16x slower.")
		fmt.Fprintln(w, "         Rebuild with: GOEXPERIMENT=simd go install ./cmd/vit")
	}
}

// ModuleVersion returns the version of a module linked into this binary ("" for the main module), as the Go
// toolchain recorded it.
func ModuleVersion(path string) string {
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
