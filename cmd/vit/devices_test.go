package main

import (
	"strings"
	"testing"
)

// TestDevicesFlag checks the -devices flag of pretrain and bench: bad values are usage errors (exit 2); on a
// backend without enough devices the command fails (exit 1) and says why. The multi-device training itself is
// tested in vitnb/training (TestDataParallelMatchesOneDevice).
func TestDevicesFlag(t *testing.T) {
	for _, args := range [][]string{
		{"pretrain", "-preset", "micro28", "-batch", "15", "-devices", "2"},
		{"pretrain", "-preset", "micro28", "-devices", "0"},
		{"bench", "-preset", "micro28", "-batch", "15", "-devices", "2"},
		{"bench", "-preset", "micro28", "-mode", "infer", "-devices", "2"},
	} {
		if code, _, errOut := runVit(t, args...); code != 2 || !strings.Contains(errOut, "-devices") {
			t.Errorf("vit %s: exit %d, %q; want exit 2 naming -devices", strings.Join(args, " "), code, errOut)
		}
	}
	code, _, errOut := runVit(t, "bench", "-preset", "micro28", "-batch", "64", "-devices", "64", "-steps", "1", "-time", "0s")
	if code != 1 || !strings.Contains(errOut, "64 devices") {
		t.Errorf("64 devices: exit %d, %q; want exit 1 saying the backend has fewer", code, errOut)
	}
}
