package backend

import (
	"strings"
	"testing"
)

func TestEnvVarWins(t *testing.T) {
	t.Setenv(EnvVar, "go")
	b, c, err := create()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if c.Config != "go" || !strings.Contains(c.Reason, EnvVar) || !strings.Contains(strings.ToLower(b.Name()), "go") {
		t.Errorf("got backend %q, choice %+v; want the go backend chosen because %s is set", b.Name(), c, EnvVar)
	}
}

func TestBadEnvVar(t *testing.T) {
	t.Setenv(EnvVar, "xla:/nonexistent/plugin.so")
	_, _, err := create()
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/plugin.so") || !strings.Contains(err.Error(), EnvVar) {
		t.Errorf("want an error naming the configuration and %s, got %v", EnvVar, err)
	}
}

// TestAutomaticChoice checks the choice without GOMLX_BACKEND: XLA when a plugin is installed, else the Go
// backend, with a reason either way and no download attempt.
func TestAutomaticChoice(t *testing.T) {
	t.Setenv(EnvVar, "")
	b, c, err := create()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if c.Reason == "" || !strings.Contains(c.String(), c.Config) {
		t.Errorf("choice without a reason: %+v", c)
	}
	if len(XLAPlugins()) > 0 {
		if !strings.HasPrefix(c.Config, "xla:") || !strings.Contains(c.Reason, "PJRT plugin found") {
			t.Errorf("a PJRT plugin is installed (%v) but the choice is %+v", XLAPlugins(), c)
		}
	} else if c.Config != GoConfig() || !strings.Contains(c.Reason, "no XLA PJRT plugin") {
		t.Errorf("no PJRT plugin is installed but the choice is %+v", c)
	}
}
