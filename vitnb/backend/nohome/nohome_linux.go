package nohome

import (
	"os"
	"strings"
)

// PluginPathsEnv is go-xla's pjrt.PJRTPluginPathsEnv (not imported: this package must not depend on go-xla).
const PluginPathsEnv = "PJRT_PLUGIN_LIBRARY_PATH"

// SystemPluginDirs are the plugin folders outside $HOME that go-xla v0.4.13 searches (pjrt/dynamiclib_posix.go).
var SystemPluginDirs = []string{"/usr/local/lib/go-xla", "/usr/local/lib/go-xla/nvidia", "/usr/local/lib/gomlx/pjrt"}

func init() {
	if os.Getenv("HOME") != "" {
		return
	}
	if _, ok := os.LookupEnv(PluginPathsEnv); ok {
		return
	}
	dirs := append([]string(nil), SystemPluginDirs...)
	for _, d := range strings.Split(os.Getenv("LD_LIBRARY_PATH"), ":") {
		if strings.HasPrefix(d, "/") {
			dirs = append(dirs, d)
		}
	}
	_ = os.Setenv(PluginPathsEnv, strings.Join(dirs, ":"))
}
