package backend

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestNoHomeLine starts this test binary without $HOME (as a service or `env -i` would): go-xla must not log that
// it cannot find the home folder (package nohome runs before go-xla's init), and the plugin folders it searches are
// those it would search without $HOME. Before, every process printed "Couldn't get user's home directory".
func TestNoHomeLine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("package nohome is for Linux")
	}
	if os.Getenv("VITNB_TEST_NO_HOME") != "" {
		os.Stdout.WriteString(strings.Join(pluginDirs(), ":") + "\n")
		return
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "PJRT_PLUGIN_LIBRARY_PATH=")
	})
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoHomeLine$")
	cmd.Env = append(env, "VITNB_TEST_NO_HOME=1", "LD_LIBRARY_PATH=/opt/lib:relative")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "home directory") || strings.Contains(stderr.String(), "$HOME") {
		t.Errorf("without $HOME the process logged:\n%s", stderr.String())
	}
	want := "/usr/local/lib/go-xla:/usr/local/lib/go-xla/nvidia:/usr/local/lib/gomlx/pjrt:/opt/lib\n"
	if got := strings.SplitAfter(stdout.String(), "\n")[0]; got != want {
		t.Errorf("plugin folders without $HOME: %q, want %q", got, want)
	}
}
