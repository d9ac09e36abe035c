// Command pjrtcuda installs XLA's CUDA PJRT plugin and the NVIDIA libraries it loads, as go-xla installs them:
// it calls go-xla's installer.CudaInstall, the function behind go-xla's `pjrt_installer -plugin cuda13` and
// GoMLX's auto-installer, with the go-xla version that vitnb's go.mod pins. go-xla's cmd/pjrt_installer is a
// module of its own that the Go module proxy does not serve, hence this small program (docker/README.md).
//
// What CudaInstall does (go-xla v0.4.13, installer/cuda.go): it downloads from PyPI the wheel jax-cudaNN-pjrt
// of the given JAX version and takes xla_cuda_plugin.so from it; it reads the dependencies of jax-cudaNN-plugin
// (the newest release's) and extracts the nvidia-* wheels they name; every download is checked against the
// sha256 that PyPI publishes. With -path DIR (DIR is a ".../lib/go-xla" folder) it writes
// DIR/nvidia/pjrt_c_api_cuda_plugin.so, the libraries under DIR/nvidia/, and links libcublas*.so.13 in DIR/..;
// go-xla finds the plugin there ($HOME/.local/lib/go-xla/nvidia is on its search path). No GPU is needed to
// install.
//
//	go run . -plugin cuda13 -version 0.11.2 -path ~/.local/lib/go-xla
//	go run . -check -plugin cuda13 -version 0.11.2    # asks PyPI whether that version exists; installs nothing
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/go-xla/installer"
)

func main() {
	plugin := flag.String("plugin", "cuda13", "cuda13 or cuda12 (the jax-cudaNN-pjrt wheel)")
	version := flag.String("version", "", "JAX version of the plugin, e.g. 0.11.2 (required: no \"latest\", for a reproducible image)")
	path := flag.String("path", "", "the go-xla library folder, e.g. ~/.local/lib/go-xla (required unless -check)")
	check := flag.Bool("check", false, "only check with PyPI that the version exists and list the NVIDIA libraries; install nothing")
	cache := flag.Bool("cache", false, "keep the downloaded wheels in go-xla's download cache (off: they would bloat an image)")
	verbose := flag.Bool("v", false, "verbose progress")
	flag.Parse()
	if err := run(*plugin, *version, *path, *check, *cache, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "pjrtcuda:", err)
		os.Exit(1)
	}
}

func run(plugin, version, path string, check, cache, verbose bool) error {
	if plugin != "cuda13" && plugin != "cuda12" {
		return fmt.Errorf("-plugin must be cuda13 or cuda12, got %q", plugin)
	}
	if version == "" || version == "latest" {
		return errors.New("-version must name a JAX version, e.g. 0.11.2")
	}
	if err := installer.CudaValidateVersion(plugin, version); err != nil {
		return err
	}
	if check {
		info, err := installer.GetPipInfo("jax-" + plugin + "-plugin")
		if err != nil {
			return err
		}
		deps, err := info.ParseDependencies()
		if err != nil {
			return err
		}
		fmt.Printf("jax-%s-pjrt %s exists on PyPI; NVIDIA libraries (from jax-%s-plugin %s):\n", plugin, version, plugin, info.Info.Version)
		for _, d := range deps {
			if !strings.HasPrefix(d.Package, "nvidia") { // the same filter as installer.CudaInstallNvidiaLibraries
				continue
			}
			var spec []string
			for _, s := range [][2]string{{"==", d.Exact}, {">=", d.Minimum}, {">", d.LowerBound}, {"<=", d.Maximum}, {"<", d.UpperBound}} {
				if s[1] != "" {
					spec = append(spec, s[0]+s[1])
				}
			}
			fmt.Printf("  %s%s\n", d.Package, strings.Join(spec, ","))
		}
		return nil
	}
	if path == "" {
		return errors.New("-path is required (the go-xla library folder, e.g. ~/.local/lib/go-xla)")
	}
	dir, err := installer.ReplaceTildeInDir(path)
	if err != nil {
		return err
	}
	verbosity := installer.Normal
	if verbose {
		verbosity = installer.Verbose
	}
	return installer.CudaInstall(plugin, version, dir, cache, verbosity)
}
