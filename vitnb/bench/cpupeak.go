package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// CPUPeak estimates the nominal float32 peak of this machine's CPUs, in GFLOP/s, from /proc/cpuinfo: physical
// cores × clock × float32 FLOP per cycle of a core's fused multiply-add units. It returns 0 and why where it cannot
// tell (not Linux/x86, no clock). FLOP per cycle (multiply-add = 2): two 512-bit FMA pipes on Intel server cores
// with AVX-512 and on AMD Zen 5 (64); two 256-bit pipes on AMD Zen 4, whose AVX-512 is double-pumped, and on every
// AVX2+FMA core since Haswell and Zen 2 (32); SSE only (8). The clock is the "cpu MHz" the kernel reports, which
// in a virtual machine is usually the nominal one, not the boost clock.
func CPUPeak() (gflops float64, how string) {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || runtime.GOARCH != "amd64" {
		return 0, "peak unknown: needs /proc/cpuinfo on amd64"
	}
	return peakFromCPUInfo(string(data), runtime.NumCPU())
}

// peakFromCPUInfo is cpuPeak for the text of /proc/cpuinfo and the number of logical CPUs the process may use.
func peakFromCPUInfo(text string, cpus int) (gflops float64, how string) {
	info := parseCPUInfo(text)
	mhz, _ := strconv.ParseFloat(info["cpu MHz"], 64)
	if mhz <= 0 {
		return 0, "peak unknown: no cpu MHz in /proc/cpuinfo"
	}
	flags := " " + info["flags"] + " "
	has := func(f string) bool { return strings.Contains(flags, " "+f+" ") }
	family, _ := strconv.Atoi(info["cpu family"])
	amd := info["vendor_id"] == "AuthenticAMD"
	perCycle, unit := 8, "SSE"
	switch {
	case has("avx512f") && amd && family < 26:
		perCycle, unit = 32, "AVX-512 on 256-bit FMA pipes (AMD Zen 4)"
	case has("avx512f"):
		perCycle, unit = 64, "2 x 512-bit FMA"
	case has("avx2") && has("fma"):
		perCycle, unit = 32, "2 x 256-bit FMA"
	}
	cores := cpus
	if siblings, err1 := strconv.Atoi(info["siblings"]); err1 == nil {
		if perSocket, err2 := strconv.Atoi(info["cpu cores"]); err2 == nil && perSocket > 0 && siblings > perSocket {
			cores = cores * perSocket / siblings // hyperthreads share a core's FMA units
		}
	}
	gflops = float64(cores) * mhz / 1e3 * float64(perCycle)
	return gflops, fmt.Sprintf("%d cores x %.2f GHz x %d float32 FLOP/cycle (%s, %s)", cores, mhz/1e3, perCycle, unit,
		strings.TrimSpace(info["model name"]))
}

// parseCPUInfo returns the fields of the first processor in /proc/cpuinfo.
func parseCPUInfo(text string) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" && len(fields) > 0 {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return fields
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
