# vitnb: every way of building and running the project goes through these settings (README.md, .ci/run).
#   GOTOOLCHAIN=go1.27.4  GoMLX v0.28.16 needs Go 1.27; the toolchain comes through the Go module proxy.
#   GOEXPERIMENT=simd     compiles the AVX2/AVX-512 kernels of GoMLX's pure-Go backend (13-16x faster).
#   GOFLAGS=-mod=mod      `go mod tidy` fails offline on test-only dependencies of dependencies (DESIGN.md).
export GOTOOLCHAIN := go1.27.4
export GOEXPERIMENT := simd
export GOFLAGS := -mod=mod

BIN := $(CURDIR)/bin

.PHONY: build demo test test-go test-xla lint

build:
	go build -o $(BIN)/vit ./cmd/vit

# The main job on a fresh machine: build, show the backend, then run the model.
demo: build
	$(BIN)/vit info
	$(BIN)/vit params B/16
	$(BIN)/vit predict -preset tiny32 -image docs/testcard.png

# All tests: every package on the pure-Go backend, then the model tests on XLA CPU when its plugin is installed.
test: lint test-go test-xla

test-go:
	GOMLX_BACKEND=go:ops_sequential go test -count=1 ./...

test-xla:
	@if [ -n "$$(ls $$HOME/.local/lib/go-xla/pjrt_c_api_cpu_plugin.so 2>/dev/null)" ]; then \
		echo "== model tests on XLA CPU"; \
		GOMLX_BACKEND=xla:cpu go test -count=1 ./vitnb/...; \
	else \
		echo "== XLA CPU plugin not installed (.ci/install-xla-cpu): model tests ran on the Go backend only"; \
	fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	go vet ./...
