package backend

import (
	"os"
	"runtime"
	"strings"
	"syscall"
)

// MallocTunables is the glibc malloc setting vitnb runs XLA with: malloc asks the kernel for transparent huge
// pages (2 MiB) for the memory it manages (glibc 2.35 and later; older ones ignore tunables they don't know).
//
// Why: XLA's CPU runtime allocates its buffers with malloc and gives them back after every execution. With 4 KiB
// pages, each training step page-faults on the fresh memory it touches again, and the kernel takes a large share of
// the CPU time; with huge pages the faults nearly vanish and XLA CPU trains and infers faster (measured in
// docs/RESULTS.md, "Backends and speed"). The pure-Go backend does not allocate through malloc and runs the same
// either way.
//
// glibc reads GLIBC_TUNABLES only when a process starts: `vit` restarts itself with it (same process ID, see
// WithMallocTunables); notebooks get it from the environment of the Jupyter server (docker/Dockerfile sets it).
const MallocTunables = "glibc.malloc.hugetlb=1"

// tunablesVar is glibc's environment variable for its tunables, a colon-separated list of name=value.
const tunablesVar = "GLIBC_TUNABLES"

// WithMallocTunables returns env (in os.Environ's form) with MallocTunables added to GLIBC_TUNABLES, and whether
// it added it. It adds nothing when GLIBC_TUNABLES already sets glibc.malloc.hugetlb, to any value: the user's
// choice stands (GLIBC_TUNABLES=glibc.malloc.hugetlb=0 turns huge pages off).
func WithMallocTunables(env []string) ([]string, bool) {
	current, index := "", -1
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, tunablesVar+"="); ok {
			current, index = v, i
		}
	}
	if strings.Contains(current, "glibc.malloc.hugetlb=") {
		return env, false
	}
	value := MallocTunables
	if current != "" {
		value = current + ":" + MallocTunables
	}
	out := append([]string(nil), env...)
	if index >= 0 {
		out[index] = tunablesVar + "=" + value
	} else {
		out = append(out, tunablesVar+"="+value)
	}
	return out, true
}

// MallocStatus says in one line how this process's malloc gets its pages: whether GLIBC_TUNABLES asks for huge
// pages and what the kernel's transparent huge page mode is ("always" gives them without asking, "never" not at
// all).
func MallocStatus() string {
	tunables := os.Getenv(tunablesVar)
	s := "glibc defaults (set GLIBC_TUNABLES=" + MallocTunables + " for faster XLA CPU)"
	if tunables != "" {
		s = "GLIBC_TUNABLES=" + tunables
	}
	if mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err == nil {
		s += "; kernel transparent huge pages: " + strings.TrimSpace(string(mode))
	}
	return s
}

// RestartWithMallocTunables replaces this process with itself, same process ID and arguments, with MallocTunables
// added to GLIBC_TUNABLES (glibc reads it only at start): XLA CPU runs faster with malloc on huge pages
// (docs/RESULTS.md). It returns when there is nothing to add (the second time, or when the user set
// glibc.malloc.hugetlb), off Linux, or when the restart fails; the program then runs as it is. vit's main calls it
// first.
func RestartWithMallocTunables() {
	if runtime.GOOS != "linux" {
		return
	}
	env, changed := WithMallocTunables(os.Environ())
	if !changed {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, env) // Returns only on failure.
}
