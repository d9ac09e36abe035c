package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAvailableMemory reads MemAvailable and a cgroup v2 limit from files written here.
func TestAvailableMemory(t *testing.T) {
	dir := t.TempDir()
	defer func(m, c string) { memInfoPath, cgroupRoot = m, c }(memInfoPath, cgroupRoot)
	memInfoPath, cgroupRoot = filepath.Join(dir, "meminfo"), filepath.Join(dir, "cgroup")
	write := func(path, s string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(memInfoPath, "MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n")
	got, src, err := AvailableMemory()
	if err != nil || got != 8000000*1024 || !strings.Contains(src, "MemAvailable") {
		t.Errorf("no cgroup: %d, %q, %v", got, src, err)
	}
	write(filepath.Join(cgroupRoot, "memory.max"), "max\n")
	write(filepath.Join(cgroupRoot, "memory.current"), "1000\n")
	if got, _, _ := AvailableMemory(); got != 8000000*1024 {
		t.Errorf("unlimited cgroup: %d", got)
	}
	write(filepath.Join(cgroupRoot, "memory.max"), "2000000000\n")
	write(filepath.Join(cgroupRoot, "memory.current"), "500000000\n")
	if got, src, _ := AvailableMemory(); got != 1_500_000_000 || !strings.Contains(src, "cgroup limit 2.0 GB") {
		t.Errorf("cgroup limit: %d, %q", got, src)
	}
	write(memInfoPath, "MemTotal: 1 kB\n")
	if _, _, err := AvailableMemory(); err == nil {
		t.Error("a meminfo without MemAvailable gave no error")
	}
}
