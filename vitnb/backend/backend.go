// Package backend chooses and creates the GoMLX backend that vitnb runs on, and says why.
//
// The order (DESIGN.md section 2): GOMLX_BACKEND when set; else XLA through a PJRT plugin that is already
// installed (CUDA first, then CPU); else GoMLX's pure-Go backend. It never downloads anything: GoMLX's
// auto-installer is turned off, so an offline machine never hangs or panics here.
package backend

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // Registers the pure-Go backend, "go".
	"github.com/gomlx/go-xla/compute/xla"  // Registers the XLA backend, "xla"; its auto-installer is not linked.
	"github.com/gomlx/go-xla/pjrt"

	_ "github.com/vitnb/vitnb/vitnb/backend/nohome" // Before go-xla's init: no klog line about a missing $HOME.
)

// EnvVar is the environment variable that names the backend configuration, e.g. "go", "go:ops_sequential",
// "xla:cpu", "xla:cuda" (GoMLX's compute.ConfigEnvVar).
const EnvVar = compute.ConfigEnvVar

// Choice is the backend configuration vitnb uses and the reason it was chosen.
type Choice struct {
	// Config is the GoMLX backend configuration string, e.g. "xla:cpu" or "go:ops_sequential".
	Config string
	// Reason says in one sentence why this backend was chosen.
	Reason string
	// Fallbacks lists the candidates tried before, with why each failed (empty when the first one worked).
	Fallbacks []string
}

// String returns the one line that programs print: "backend xla:cpu (PJRT plugin found at ...)".
func (c Choice) String() string {
	s := fmt.Sprintf("backend %s (%s)", c.Config, c.Reason)
	if len(c.Fallbacks) > 0 {
		s += "; tried first: " + strings.Join(c.Fallbacks, "; ")
	}
	return s
}

// GoConfig returns the configuration of the pure-Go backend suited to this machine: "go:ops_sequential" on
// machines with 2 cores or fewer, where running graph nodes in parallel on top of parallel ops oversubscribes
// the cores (measured on 2 cores: training 1.4x and inference 1.8x faster sequential, DESIGN.md section 2), and
// "go" otherwise.
func GoConfig() string {
	if runtime.NumCPU() <= 2 {
		return "go:ops_sequential"
	}
	return "go"
}

// XLAPlugins returns the PJRT plugins installed on this machine, by name ("cpu", "cuda", ...) with their paths.
// It searches where go-xla does: $PJRT_PLUGIN_LIBRARY_PATH, else ~/.local/lib/go-xla, /usr/local/lib/go-xla and
// the system library directories. It downloads nothing. Plugin files that are not loadable shared libraries are
// left out (BrokenPlugins names them): go-xla's own search crashes on them.
func XLAPlugins() map[string]string {
	plugins, _ := xlaPlugins()
	return plugins
}

// BrokenPlugins returns one line for each file in the plugin directories that is named like a PJRT plugin but
// fails CheckPlugin.
func BrokenPlugins() []string {
	_, broken := xlaPlugins()
	return broken
}

// xlaPlugins checks the plugin files before go-xla's search opens them with dlopen: when one is broken, go-xla
// is not asked (its search panics on a file that dlopen refuses) and the good files found here are returned.
func xlaPlugins() (plugins map[string]string, broken []string) {
	good, broken := scanPlugins(pluginDirs())
	if len(broken) > 0 {
		return good, broken
	}
	defer func() {
		if r := recover(); r != nil {
			plugins = good
			broken = append(broken, fmt.Sprintf("go-xla's plugin search failed: %v", r))
		}
	}()
	return pjrt.AvailablePlugins(), nil
}

var (
	mu     sync.Mutex
	cached compute.Backend
	choice Choice
)

// Open is New, and says on w which backend was chosen and why (one line).
func Open(w io.Writer) (compute.Backend, Choice, error) {
	b, choice, err := New()
	if err == nil {
		fmt.Fprintln(w, choice)
	}
	return b, choice, err
}

// New returns the backend chosen as the package documentation says, creating it on the first call and reusing
// it afterwards (creating a backend loads plugins and starts thread pools, so programs and notebooks share
// one).
func New() (compute.Backend, Choice, error) {
	mu.Lock()
	defer mu.Unlock()
	if _, err := AttentionFromEnv(); err != nil { // Said once here rather than when the first model is built.
		return nil, choice, err
	}
	if cached != nil {
		return cached, choice, nil
	}
	b, c, err := create()
	if err != nil {
		return nil, c, err
	}
	cached, choice = b, c
	return b, c, nil
}

// create tries the candidates in order and returns the first backend that starts.
func create() (compute.Backend, Choice, error) {
	xla.EnableAutoInstall(false) // Never reach for the network (the auto-installer fails or hangs offline).
	if cfg := os.Getenv(EnvVar); cfg != "" {
		c := Choice{Config: cfg, Reason: EnvVar + " is set"}
		b, err := newChecked(cfg)
		if err != nil {
			return nil, c, fmt.Errorf("%s=%s: %s", EnvVar, cfg, oneLine(err))
		}
		return b, c, nil
	}

	plugins, fallbacks := xlaPlugins()
	names := make([]string, 0, len(plugins))
	for name := range plugins {
		names = append(names, name)
	}
	// Accelerators first, then the CPU plugin.
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "cpu") != (names[j] == "cpu") {
			return names[j] == "cpu"
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		cfg := "xla:" + name
		if len(fallbacks) > 0 {
			// A broken file is in the plugin folders: load the file checked by path, go-xla's search would crash.
			cfg = "xla:" + plugins[name]
		}
		b, err := newChecked(cfg)
		if err == nil {
			return b, Choice{Config: cfg, Reason: "PJRT plugin found at " + plugins[name], Fallbacks: fallbacks}, nil
		}
		fallbacks = append(fallbacks, fmt.Sprintf("%s failed: %v", cfg, firstLine(err)))
	}

	cfg := GoConfig()
	reason := "no XLA PJRT plugin installed (searched $PJRT_PLUGIN_LIBRARY_PATH, ~/.local/lib/go-xla, /usr/local/lib/go-xla and the system library paths): using the pure-Go backend"
	if len(plugins) > 0 || len(fallbacks) > 0 {
		reason = "no XLA PJRT plugin could start: using the pure-Go backend"
	}
	if strings.Contains(cfg, "ops_sequential") {
		reason += fmt.Sprintf(", ops run sequentially on this %d-core machine", runtime.NumCPU())
	}
	b, err := newChecked(cfg)
	if err != nil {
		return nil, Choice{Config: cfg, Reason: reason, Fallbacks: fallbacks}, fmt.Errorf("creating backend %q: %s", cfg, oneLine(err))
	}
	return b, Choice{Config: cfg, Reason: reason, Fallbacks: fallbacks}, nil
}

// oneLine joins the lines of an error message, so that it prints as the one line a command ends with.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
