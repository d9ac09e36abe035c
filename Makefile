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

# The main job on a fresh machine, in a few minutes on 2 cores: say which backend runs and why, train a small
# ViT on Fashion-MNIST, evaluate it on the test set and draw what it attends to (runs/demo/attention.png).
DEMO := runs/demo
demo: build
	$(BIN)/vit info
	$(BIN)/vit data get fashion-mnist
	$(BIN)/vit pretrain -preset micro28 -data fashion-mnist -steps 600 -warmup 60 -lr 2e-3 -batch 128 -dir $(DEMO) -resume
	$(BIN)/vit attention -dir $(DEMO) -data fashion-mnist -n 8 -o $(DEMO)/attention.png

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
