package bench

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vitnb/vitnb/vitnb/backend"
	"github.com/vitnb/vitnb/vitnb/files"
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
		got, how := peakOf(backend.ParseCPU(tc.text, tc.cpus))
		if math.Abs(got-tc.want) > 1e-9 || !strings.Contains(how, "FLOP/cycle") {
			t.Errorf("%s: %g GFLOP/s (%s), want %g", tc.name, got, how, tc.want)
		}
	}
	if got, how := peakOf(backend.ParseCPU("processor\t: 0\n", 2)); got != 0 || !strings.Contains(how, "unknown") {
		t.Errorf("no clock: %g, %q", got, how)
	}
}

// TestMatmulCeilingKept: the first call measures and keeps the ceiling in CeilingFile, the next reads it back
// with the time it was measured (without measuring: a later call gives exactly the kept value), another size is
// measured apart, and a damaged file is measured again and replaced.
func TestMatmulCeilingKept(t *testing.T) {
	t.Setenv(files.EnvCache, t.TempDir())
	b, _, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	first, when, err := MatmulCeiling(b, "test", 32, 10*time.Millisecond)
	if err != nil || first <= 0 || !when.IsZero() {
		t.Fatalf("first call: %g GFLOP/s, measured %v, %v", first, when, err)
	}
	again, when, err := MatmulCeiling(b, "test", 32, 10*time.Millisecond)
	if err != nil || again != first || when.IsZero() || time.Since(when) > time.Hour {
		t.Errorf("second call: %g GFLOP/s (kept %g), measured %v, %v", again, first, when, err)
	}
	if _, when, err := MatmulCeiling(b, "test", 48, 10*time.Millisecond); err != nil || !when.IsZero() {
		t.Errorf("another size was not measured: %v, %v", when, err)
	}
	if err := os.WriteFile(CeilingFile(), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if g, when, err := MatmulCeiling(b, "test", 32, 10*time.Millisecond); err != nil || g <= 0 || !when.IsZero() {
		t.Errorf("damaged file: %g, %v, %v", g, when, err)
	}
	if data, err := os.ReadFile(CeilingFile()); err != nil || !strings.Contains(string(data), `"gflops"`) {
		t.Errorf("damaged file not replaced: %q, %v", data, err)
	}
}
