package bench

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestCPUPeakParsing computes the nominal peak from /proc/cpuinfo texts of several kinds of cores.
func TestCPUPeakParsing(t *testing.T) {
	cpuinfo := func(vendor, family, mhz, flags string, siblings, cores int) string {
		return fmt.Sprintf("processor\t: 0\nvendor_id\t: %s\ncpu family\t: %s\nmodel name\t: test\ncpu MHz\t\t: %s\n"+
			"siblings\t: %d\ncpu cores\t: %d\nflags\t\t: fpu sse %s\n\nprocessor\t: 1\nvendor_id\t: other\n",
			vendor, family, mhz, siblings, cores, flags)
	}
	for _, tc := range []struct {
		name, text string
		cpus       int
		want       float64
	}{
		{"Zen 4, 2 vCPUs", cpuinfo("AuthenticAMD", "25", "2600.000", "avx2 fma avx512f", 2, 2), 2, 2 * 2.6 * 32},
		{"Zen 5", cpuinfo("AuthenticAMD", "26", "3000", "avx2 fma avx512f", 4, 4), 4, 4 * 3 * 64},
		{"Xeon, hyperthreads", cpuinfo("GenuineIntel", "6", "2000", "avx2 fma avx512f", 8, 4), 8, 4 * 2 * 64},
		{"AVX2", cpuinfo("GenuineIntel", "6", "3000", "avx2 fma", 2, 2), 2, 2 * 3 * 32},
		{"SSE", cpuinfo("GenuineIntel", "6", "1000", "", 1, 1), 1, 1 * 1 * 8},
	} {
		got, how := peakFromCPUInfo(tc.text, tc.cpus)
		if math.Abs(got-tc.want) > 1e-9 || !strings.Contains(how, "FLOP/cycle") {
			t.Errorf("%s: %g GFLOP/s (%s), want %g", tc.name, got, how, tc.want)
		}
	}
	if got, how := peakFromCPUInfo("processor\t: 0\n", 2); got != 0 || !strings.Contains(how, "unknown") {
		t.Errorf("no clock: %g, %q", got, how)
	}
}
