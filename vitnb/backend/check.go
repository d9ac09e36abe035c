package backend

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/pjrt"
)

// CheckConfig checks what can be checked of a backend configuration ("go", "xla:cpu", "xla:/abs/plugin.so") before
// anything is loaded: the backend name is one compiled in, and a PJRT plugin named by path, or by name and found in
// the plugin directories, is a readable shared library for this machine that exports GetPjrtApi. A broken plugin
// file would otherwise crash inside dlopen or go-xla (a Go panic with a stack trace). The error is one line.
func CheckConfig(cfg string) error {
	name, opts, _ := strings.Cut(cfg, ":")
	known := compute.List()
	if !slices.Contains(known, name) {
		slices.Sort(known)
		return fmt.Errorf("unknown backend %q in %q: the backends compiled in are %s (e.g. go, go:ops_sequential, xla:cpu, xla:/path/to/pjrt_c_api_cpu_plugin.so)",
			name, cfg, strings.Join(known, ", "))
	}
	if name != "xla" || opts == "" {
		return nil
	}
	plugin, _, _ := strings.Cut(opts, ",") // go-xla's options follow the plugin after commas
	if strings.ContainsRune(plugin, os.PathSeparator) {
		if !filepath.IsAbs(plugin) {
			return fmt.Errorf("PJRT plugin %q in %q: give an absolute path", plugin, cfg)
		}
		return CheckPlugin(plugin)
	}
	for _, c := range pluginCandidates(pluginDirs()) {
		if c.name == plugin {
			return CheckPlugin(c.path) // the first found is the one go-xla loads
		}
	}
	return nil // not found: go-xla says so, with the directories it searched
}

// pjrtAPISymbol is the function every PJRT plugin exports (go-xla's pjrt.GetPJRTApiFunctionName).
const pjrtAPISymbol = pjrt.GetPJRTApiFunctionName

// elfMachines maps GOARCH to the ELF machine a plugin must be built for.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386,
	"riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390}

// CheckPlugin checks that path is a PJRT plugin this process can load, without loading it: a readable regular
// file, an ELF shared library for this architecture (on Linux) whose dynamic symbols include GetPjrtApi.
func CheckPlugin(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("PJRT plugin %s: %w", path, errors.Unwrap(err))
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("PJRT plugin %s is not a regular file (%s)", path, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("PJRT plugin %s cannot be read: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	if runtime.GOOS != "linux" {
		return nil // Mach-O and PE plugins are left to the loader.
	}
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != elf.ELFMAG {
		return fmt.Errorf("PJRT plugin %s is not a shared library: it does not start with the ELF magic (first bytes % x, size %d bytes)",
			path, magic, st.Size())
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return fmt.Errorf("PJRT plugin %s is a damaged ELF file (truncated?): %v", path, err)
	}
	if want, ok := elfMachines[runtime.GOARCH]; ok && ef.Machine != want {
		return fmt.Errorf("PJRT plugin %s is built for %s, this machine is %s", path, ef.Machine, want)
	}
	if ef.Type != elf.ET_DYN {
		return fmt.Errorf("PJRT plugin %s is an ELF file of type %s, not a shared library", path, ef.Type)
	}
	syms, err := ef.DynamicSymbols()
	if err != nil {
		return fmt.Errorf("PJRT plugin %s: reading its dynamic symbols (file truncated?): %v", path, err)
	}
	for _, s := range syms {
		if s.Name == pjrtAPISymbol && s.Section != elf.SHN_UNDEF {
			return nil
		}
	}
	return fmt.Errorf("PJRT plugin %s does not export %s: not a PJRT plugin", path, pjrtAPISymbol)
}

// pluginDirs returns the directories where go-xla looks for plugins: $PJRT_PLUGIN_LIBRARY_PATH when set, else
// ~/.local/lib/go-xla (and its nvidia/), /usr/local/lib/go-xla (and nvidia/), the older gomlx/pjrt folders and
// $LD_LIBRARY_PATH (go-xla's pjrt/dynamiclib_posix.go; it also reads /etc/ld.so.conf, whose system folders hold
// no PJRT plugins in practice and are left out here).
func pluginDirs() []string {
	if v, ok := os.LookupEnv(pjrt.PJRTPluginPathsEnv); ok {
		return slices.DeleteFunc(strings.Split(v, ":"), func(p string) bool { return p == "" })
	}
	var dirs []string
	if home, err := os.UserHomeDir(); err == nil {
		d := filepath.Join(home, ".local", "lib", "go-xla")
		dirs = append(dirs, d, filepath.Join(d, "nvidia"), filepath.Join(home, ".local", "lib", "gomlx", "pjrt"))
	}
	dirs = append(dirs, "/usr/local/lib/go-xla", "/usr/local/lib/go-xla/nvidia", "/usr/local/lib/gomlx/pjrt")
	for _, d := range strings.Split(os.Getenv("LD_LIBRARY_PATH"), ":") {
		if filepath.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// pluginPatterns are the file names go-xla recognises as plugins, with the plugin name as the first group
// (go-xla's pjrt.rePluginName, for Linux).
var pluginPatterns = []*regexp.Regexp{
	regexp.MustCompile(`^pjrt[-_]plugin[-_](.+)\.so$`),
	regexp.MustCompile(`^pjrt_c_api_(.+)_plugin\.so$`),
}

type pluginFile struct{ name, path string }

// pluginCandidates lists the plugin files in dirs, in search order.
func pluginCandidates(dirs []string) []pluginFile {
	var out []pluginFile
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			for _, re := range pluginPatterns {
				if m := re.FindStringSubmatch(e.Name()); m != nil {
					out = append(out, pluginFile{name: m[1], path: filepath.Join(d, e.Name())})
					break
				}
			}
		}
	}
	return out
}

// scanPlugins checks every plugin file in dirs: good maps each name to the first good file, broken lists one line
// for each file that fails CheckPlugin.
func scanPlugins(dirs []string) (good map[string]string, broken []string) {
	good = map[string]string{}
	for _, c := range pluginCandidates(dirs) {
		if _, seen := good[c.name]; seen {
			continue
		}
		if err := CheckPlugin(c.path); err != nil {
			broken = append(broken, err.Error())
			continue
		}
		good[c.name] = c.path
	}
	return good, broken
}

// newChecked creates the backend cfg after CheckConfig, turning a panic of the backend's constructor into an error.
func newChecked(cfg string) (b compute.Backend, err error) {
	if err := CheckConfig(cfg); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("creating backend %q failed: %v", cfg, r)
		}
	}()
	return compute.NewWithConfig(cfg)
}
