package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute"
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

// TestBrokenBackendConfigs: an unknown backend name or a plugin file that is not a loadable shared library gives
// one line naming the problem, checked before anything is loaded (before, the unknown name and a broken file in
// the plugin folders were Go panics with stack traces, and a named broken file printed dlopen's warnings).
func TestBrokenBackendConfigs(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "pjrt_c_api_cpu_plugin.so")
	writeTestFile(t, text, []byte("this is not a plugin\n"))
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "pjrt_c_api_cut_plugin.so")
	writeTestFile(t, cut, exe[:4096]) // ELF magic and header, sections cut off
	noAPI := filepath.Join(dir, "pjrt_c_api_exe_plugin.so")
	writeTestFile(t, noAPI, exe) // a whole ELF file that is no PJRT plugin
	cases := map[string]string{
		"bogus":               `unknown backend "bogus"`,
		"xla:" + text:         "does not start with the ELF magic",
		"xla:" + cut:          "truncated",
		"xla:" + noAPI:        "",
		"xla:" + dir:          "not a regular file",
		"xla:" + dir + "/nop": "no such file",
		"xla:relative/x.so":   "absolute path",
	}
	for cfg, want := range cases {
		t.Setenv(EnvVar, cfg)
		_, _, err := create()
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), EnvVar) {
			t.Errorf("%s: got %v, want one line containing %q", cfg, err, want)
		}
	}

	// Broken files in the plugin folders are reported and skipped, not loaded.
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", dir)
	good, broken := scanPlugins(pluginDirs())
	if len(good) != 0 || len(broken) != 3 {
		t.Errorf("scan of %s: good %v, broken %q; want none good, 3 broken", dir, good, broken)
	}
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConstructorPanic: a backend whose constructor panics (as GoMLX's do on some failures) gives an error.
func TestConstructorPanic(t *testing.T) {
	compute.Register("vitnb-test-panics", func(string) (compute.Backend, error) { panic("plugin exploded") })
	_, err := newChecked("vitnb-test-panics:x")
	if err == nil || !strings.Contains(err.Error(), "plugin exploded") || !strings.Contains(err.Error(), "vitnb-test-panics:x") {
		t.Errorf("got %v, want the panic as an error naming the configuration", err)
	}
}

// TestWarnSIMD: the warning is written exactly when the binary lacks the SIMD kernels, and says how to rebuild.
func TestWarnSIMD(t *testing.T) {
	var w strings.Builder
	WarnSIMD(&w)
	if SIMDBuild != (w.Len() == 0) || (!SIMDBuild && !strings.Contains(w.String(), "GOEXPERIMENT=simd go install")) {
		t.Errorf("SIMDBuild %v, warning %q", SIMDBuild, w.String())
	}
}

// TestInfo writes the report of the backend New chose: its configuration, why, and the versions.
func TestInfo(t *testing.T) {
	_, c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	if err := Info(&w); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"backend:   " + c.Config + "\n", "why:       " + c.Reason + "\n", "\ngomlx:     ", "\nvitnb:     "} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("Info misses %q:\n%s", want, w.String())
		}
	}
}

// TestAttentionFor: the pure-Go backend defaults to the decomposed attention (its fused kernel is slower than its
// matrix products: 8x on an Intel Xeon), VITNB_ATTENTION or a forced value overrides it, a bad value is an error naming the variable (New
// refuses it too), and Info says which is in use along with the CPU.
func TestAttentionFor(t *testing.T) {
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if !b.Capabilities().Operations[compute.OpTypeFusedScaledDotProductAttention] {
		t.Fatal("the Go backend lost its fused attention: the test has nothing to choose between")
	}
	for _, tc := range []struct {
		env    string
		forced Attention
		want   Attention
		reason string
	}{
		{"", AttentionAuto, AttentionDecomposed, "slower than its matrix products"},
		{"auto", AttentionAuto, AttentionDecomposed, "slower than its matrix products"},
		{"fused", AttentionAuto, AttentionFused, "forced"},
		{" Decomposed ", AttentionAuto, AttentionDecomposed, "forced"},
		{"decomposed", AttentionFused, AttentionFused, "forced"},
	} {
		t.Setenv(AttentionEnvVar, tc.env)
		got, why, err := AttentionFor(b, tc.forced)
		if err != nil || got != tc.want || !strings.Contains(why, tc.reason) {
			t.Errorf("%s=%q, forced %q: got %q (%s, %v), want %q (%s)", AttentionEnvVar, tc.env, tc.forced, got, why, err,
				tc.want, tc.reason)
		}
	}
	t.Setenv(AttentionEnvVar, "flash")
	if _, _, err := AttentionFor(b, AttentionAuto); err == nil || !strings.Contains(err.Error(), AttentionEnvVar+`="flash"`) {
		t.Errorf("bad %s: got %v", AttentionEnvVar, err)
	}
	if _, _, err := New(); err == nil || !strings.Contains(err.Error(), "want fused, decomposed or auto") {
		t.Errorf("New with a bad %s: got %v", AttentionEnvVar, err)
	}
	if _, _, err := AttentionFor(b, "flash"); err == nil {
		t.Error("a bad forced formulation gave no error")
	}
	t.Setenv(AttentionEnvVar, "")
	var w strings.Builder
	Report(&w, b, Choice{Config: "go"})
	if !strings.Contains(w.String(), "\nattention: decomposed (") {
		t.Errorf("Report does not say the attention formulation:\n%s", w.String())
	}
	if _, err := os.Stat("/proc/cpuinfo"); err == nil && !strings.Contains(w.String(), "\ncpu:       ") {
		t.Errorf("Report does not name the CPU:\n%s", w.String())
	}
}

// TestParseCPU reads the model, vendor, cores and vector extensions of an Intel Xeon with AMX and hyperthreads
// and of an AMD Zen 4 from /proc/cpuinfo texts.
func TestParseCPU(t *testing.T) {
	const xeon = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\n" +
		"cpu MHz\t\t: 2699.998\nsiblings\t: 4\ncpu cores\t: 2\nflags\t\t: fpu sse avx2 fma avx512f avx512bw avx512vl " +
		"avx512_vnni avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8\n\nprocessor\t: 1\nvendor_id\t: other\n"
	c := ParseCPU(xeon, 4)
	want := "Intel(R) Xeon(R) Platinum 8481C (GenuineIntel family 6), 2 cores, AVX2 FMA AVX-512(F BW VL VNNI BF16 FP16) AMX(BF16 INT8)"
	if c.String() != want || c.MHz != 2699.998 {
		t.Errorf("Xeon: %q, %g MHz\nwant %q", c, c.MHz, want)
	}
	const zen4 = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC\nsiblings\t: 2\ncpu cores\t: 2\n" +
		"flags\t\t: fpu avx2 fma avx512f avx512bw avx512vl avx512_bf16 avx512_vnni\n"
	want = "AMD EPYC (AuthenticAMD family 25), 2 cores, AVX2 FMA AVX-512(F BW VL VNNI BF16)"
	if c := ParseCPU(zen4, 2); c.String() != want {
		t.Errorf("Zen 4: %q\nwant %q", c, want)
	}
	if c := ParseCPU("vendor_id\t: x\nflags\t: fpu sse sse2\n", 1); c.VectorExtensions() != "SSE only" {
		t.Errorf("SSE: %q", c.VectorExtensions())
	}
}
