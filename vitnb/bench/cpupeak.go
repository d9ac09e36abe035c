package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/files"
)

// CPUPeak estimates the nominal float32 peak of this machine's CPUs, in GFLOP/s, from /proc/cpuinfo: physical
// cores × clock × float32 FLOP per cycle of a core's fused multiply-add units. It returns 0 and why where it cannot
// tell (not Linux/x86, no clock). FLOP per cycle (multiply-add = 2): two 512-bit FMA pipes on Intel server cores
// with AVX-512 and on AMD Zen 5 (64); two 256-bit pipes on AMD Zen 4, whose AVX-512 is double-pumped, and on every
// AVX2+FMA core since Haswell and Zen 2 (32); SSE only (8). The clock is the "cpu MHz" the kernel reports, which
// in a virtual machine is usually the nominal one, not the boost clock.
func CPUPeak() (gflops float64, how string) {
	cpu, ok := backend.ReadCPU()
	if !ok || runtime.GOARCH != "amd64" {
		return 0, "peak unknown: needs /proc/cpuinfo on amd64"
	}
	return peakOf(cpu)
}

// peakOf is CPUPeak for a given CPU.
func peakOf(cpu backend.CPU) (gflops float64, how string) {
	if cpu.MHz <= 0 {
		return 0, "peak unknown: no cpu MHz in /proc/cpuinfo"
	}
	perCycle, unit := 8, "SSE"
	switch {
	case cpu.Flags["avx512f"] && cpu.Vendor == "AuthenticAMD" && cpu.Family < 26:
		perCycle, unit = 32, "AVX-512 on 256-bit FMA pipes (AMD Zen 4)"
	case cpu.Flags["avx512f"]:
		perCycle, unit = 64, "2 x 512-bit FMA"
	case cpu.Flags["avx2"] && cpu.Flags["fma"]:
		perCycle, unit = 32, "2 x 256-bit FMA"
	}
	gflops = float64(cpu.Cores) * cpu.MHz / 1e3 * float64(perCycle)
	return gflops, fmt.Sprintf("%d cores x %.2f GHz x %d float32 FLOP/cycle (%s, %s)", cpu.Cores, cpu.MHz/1e3, perCycle,
		unit, strings.TrimSpace(cpu.Model))
}

// MatmulGFLOPs measures the float32 matrix-product throughput of backend b: n x n times n x n, repeated for at
// least d after one compiling call. It is the practical ceiling that the model's matrix products can reach there.
func MatmulGFLOPs(b compute.Backend, n int, d time.Duration) (float64, error) {
	exec, err := graph.NewExec(b, func(x, y *graph.Node) *graph.Node { return graph.MatMul(x, y) })
	if err != nil {
		return 0, err
	}
	x := tensors.FromShape(shapes.Make(dtypes.Float32, n, n))
	y := tensors.FromShape(shapes.Make(dtypes.Float32, n, n))
	call := func() error {
		out, err := exec.Exec(x, y)
		if err != nil {
			return err
		}
		return out[0].FinalizeAll()
	}
	if err := call(); err != nil {
		return 0, err
	}
	calls, start := 0, time.Now()
	for calls < 3 || time.Since(start) < d {
		if err := call(); err != nil {
			return 0, err
		}
		calls++
	}
	return float64(calls) * 2 * float64(n*n*n) / time.Since(start).Seconds() / 1e9, nil
}

// CeilingFile is the file in which MatmulCeiling keeps its measurements (in vitnb's cache folder).
func CeilingFile() string { return filepath.Join(files.CacheRoot(), "matmul-ceiling.json") }

// ceiling is one measurement kept in CeilingFile.
type ceiling struct {
	GFLOPs   float64   `json:"gflops"`
	Measured time.Time `json:"measured"`
}

// MatmulCeiling returns the float32 matrix-product throughput of an n x n product on backend b (named
// backendName, e.g. "xla:cpu"), measured with MatmulGFLOPs for d the first time on this machine and read from
// CeilingFile afterwards, with the time it was measured (zero when measured now). The measurement is kept per CPU
// (model, cores, vector extensions), backend, build, library versions, malloc tunables and n: what changes the
// kernel that runs. Delete CeilingFile to measure again (on a quiet machine: a loaded one records a low ceiling).
func MatmulCeiling(b compute.Backend, backendName string, n int, d time.Duration) (gflops float64, measured time.Time, err error) {
	cpu, _ := backend.ReadCPU()
	key := fmt.Sprintf("%s | %s | n=%d | simd=%v | gomlx %s, go-xla %s | GLIBC_TUNABLES=%s", backendName, cpu, n,
		backend.SIMDBuild, backend.ModuleVersion("github.com/gomlx/gomlx"), backend.ModuleVersion("github.com/gomlx/go-xla"),
		os.Getenv("GLIBC_TUNABLES"))
	path := CeilingFile()
	known := map[string]ceiling{}
	if data, err := os.ReadFile(path); err == nil {
		if json.Unmarshal(data, &known) != nil {
			known = map[string]ceiling{} // A damaged file is measured again and replaced.
		}
	}
	if c, ok := known[key]; ok && c.GFLOPs > 0 {
		return c.GFLOPs, c.Measured, nil
	}
	if gflops, err = MatmulGFLOPs(b, n, d); err != nil {
		return 0, time.Time{}, err
	}
	known[key] = ceiling{GFLOPs: gflops, Measured: time.Now().UTC().Truncate(time.Second)}
	if err := files.WriteJSON(path, known); err != nil {
		return 0, time.Time{}, fmt.Errorf("keeping the matrix-product ceiling: %w", err)
	}
	return gflops, time.Time{}, nil
}
