package backend

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// CPU describes this machine's processor as Linux reports it in /proc/cpuinfo (its first processor): what speed
// records name, since the backends' kernels differ by vendor and vector extensions (docs/RESULTS.md keeps one table
// per CPU kind).
type CPU struct {
	// Vendor is the vendor_id ("AuthenticAMD", "GenuineIntel"), Model the model name ("AMD EPYC", "Intel(R)
	// Xeon(R) ...") and Family the cpu family (25 for AMD Zen 3 and Zen 4, 26 for Zen 5, 6 for Intel's cores).
	Vendor, Model string
	Family        int
	// MHz is the clock the kernel reports (in a virtual machine usually the nominal one, not the boost clock).
	MHz float64
	// Cores is the number of physical cores this process may use: logical CPUs less hyperthread siblings.
	Cores int
	// Flags holds the feature flags ("avx2", "avx512f", "amx_tile", ...).
	Flags map[string]bool
}

// ReadCPU reads /proc/cpuinfo; ok is false where there is none (not Linux).
func ReadCPU() (cpu CPU, ok bool) {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return CPU{Cores: runtime.NumCPU()}, false
	}
	return ParseCPU(string(data), runtime.NumCPU()), true
}

// ParseCPU reads the first processor of a /proc/cpuinfo text; cpus is the number of logical CPUs the process may
// use, of which Cores counts the physical ones.
func ParseCPU(text string, cpus int) CPU {
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" && len(fields) > 0 {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	c := CPU{Vendor: fields["vendor_id"], Model: fields["model name"], Cores: cpus, Flags: map[string]bool{}}
	c.Family, _ = strconv.Atoi(fields["cpu family"])
	c.MHz, _ = strconv.ParseFloat(fields["cpu MHz"], 64)
	for _, f := range strings.Fields(fields["flags"]) {
		c.Flags[f] = true
	}
	if siblings, err1 := strconv.Atoi(fields["siblings"]); err1 == nil {
		if perSocket, err2 := strconv.Atoi(fields["cpu cores"]); err2 == nil && perSocket > 0 && siblings > perSocket {
			c.Cores = cpus * perSocket / siblings // Hyperthreads share a core's vector units.
		}
	}
	return c
}

// VectorExtensions names the vector extensions that matter to the backends' float32 kernels, e.g. "AVX2 FMA
// AVX-512(F BW VL VNNI BF16) AMX(BF16 INT8)"; "SSE only" when there are none of them.
func (c CPU) VectorExtensions() string {
	var parts []string
	for _, f := range []struct{ flag, name string }{{"avx2", "AVX2"}, {"fma", "FMA"}} {
		if c.Flags[f.flag] {
			parts = append(parts, f.name)
		}
	}
	group := func(name string, flags [][2]string) {
		var have []string
		for _, f := range flags {
			if c.Flags[f[0]] {
				have = append(have, f[1])
			}
		}
		if len(have) > 0 {
			parts = append(parts, name+"("+strings.Join(have, " ")+")")
		}
	}
	group("AVX-512", [][2]string{{"avx512f", "F"}, {"avx512bw", "BW"}, {"avx512vl", "VL"}, {"avx512_vnni", "VNNI"},
		{"avx512_bf16", "BF16"}, {"avx512_fp16", "FP16"}})
	group("AMX", [][2]string{{"amx_bf16", "BF16"}, {"amx_int8", "INT8"}, {"amx_fp16", "FP16"}})
	if len(parts) == 0 {
		return "SSE only"
	}
	return strings.Join(parts, " ")
}

// String is the line `vit info` prints: "AMD EPYC (AuthenticAMD family 25), 2 cores, AVX2 FMA AVX-512(...)".
func (c CPU) String() string {
	return strings.TrimSpace(c.Model) + " (" + c.Vendor + " family " + strconv.Itoa(c.Family) + "), " +
		strconv.Itoa(c.Cores) + " cores, " + c.VectorExtensions()
}
