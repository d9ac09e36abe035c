//go:build !goexperiment.simd

package backend

// SIMDBuild tells whether this binary was built with GOEXPERIMENT=simd, which compiles the AVX2/AVX-512 kernels
// of GoMLX's pure-Go backend (13-16x faster than without, DESIGN.md section 2).
const SIMDBuild = false
