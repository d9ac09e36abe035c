#!/usr/bin/env bash
# Builds the vitnb image (docker/Dockerfile) with docker or podman and checks it: `vit info`, a short training and
# notebook 1 inside the container without network, then JupyterLab started by the image's own command, which
# must answer on its REST API with the gonb kernel. Prints the build time and the image size.
#
#   docker/test.sh [--ca FILE] [--tag NAME] [--rm-image]
#
#   --ca FILE    trust FILE (a PEM CA certificate) during the build: needed behind a TLS-intercepting proxy,
#                whose CA must sign PyPI's and the Go module proxy's answers (also $VITNB_CA_FILE)
#   --tag NAME   the image's name (default vitnb)
#   --rm-image   remove the image at the end (default: keep it)
#
# The engine: docker when its daemon answers, else podman (as root; Debian: apt-get install podman runc).
# The base image: $BASE_IMAGE when set, else debian:bookworm-slim when it can be pulled, else one made with
# `debootstrap --variant=minbase bookworm` (as root; apt-get install debootstrap) and imported.
# podman: `--format docker` (else the Dockerfile's SHELL is ignored), and runc with lower ulimits where crun cannot
# raise the container's limits (no CAP_SYS_RESOURCE: "setrlimit RLIMIT_NOFILE"), DESIGN.md section 9.
set -euo pipefail
cd "$(dirname "$0")/.."

ca="${VITNB_CA_FILE:-}"
tag="vitnb"
rm_image=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ca) [ $# -ge 2 ] || { echo "docker/test.sh: --ca needs a file" >&2; exit 2; }; ca="$2"; shift 2 ;;
    --tag) [ $# -ge 2 ] || { echo "docker/test.sh: --tag needs a name" >&2; exit 2; }; tag="$2"; shift 2 ;;
    --rm-image) rm_image=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "docker/test.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$ca" ] && [ ! -f "$ca" ]; then
  echo "docker/test.sh: --ca $ca: no such file" >&2
  exit 2
fi

start=$(date +%s)
say() { echo "== [$(( $(date +%s) - start ))s] $*"; }
die() { echo "docker/test.sh: $*" >&2; exit 1; }

# The engine and, for podman, the flags its build and run need here.
engine="" build_flags=() run_flags=()
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  engine=docker
elif command -v podman >/dev/null 2>&1; then
  engine=podman
  build_flags+=(--format docker)
else
  die "neither a docker daemon nor podman: install one (Debian: apt-get install podman runc)"
fi
say "engine: $engine ($($engine --version))"

tmp="$(mktemp -d)"
lab=""
cleanup() {
  [ -z "$lab" ] || "$engine" rm -f "$lab" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# The base image.
base="${BASE_IMAGE:-}"
if [ -z "$base" ]; then
  if timeout 120 $engine pull -q debian:bookworm-slim >/dev/null 2>&1; then
    base=debian:bookworm-slim
  elif $engine image inspect vitnb-base:bookworm >/dev/null 2>&1; then
    base=vitnb-base:bookworm
    say "no registry image: reusing $base (made with debootstrap before)"
  else
    command -v debootstrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] ||
      die "debian:bookworm-slim cannot be pulled and debootstrap is not available as root: give BASE_IMAGE"
    say "no registry image: debootstrap --variant=minbase bookworm"
    mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    debootstrap --variant=minbase bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
      { tail -20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
    # debian:bookworm-slim's apt sources: updates and security too.
    printf '%s\n' "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
      "deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main" \
      >"$tmp/rootfs/etc/apt/sources.list"
    rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
    tar -C "$tmp/rootfs" -c . | $engine import - vitnb-base:bookworm >/dev/null
    rm -rf "$tmp/rootfs"
    base=vitnb-base:bookworm
  fi
fi
say "base image: $base"

# podman: where containers may not raise their limits (crun, and runc with the default ulimits, fail with
# "setrlimit RLIMIT_NOFILE"), runc with lower limits works.
E=("$engine")
if [ "$engine" = podman ] && ! podman run --rm --network none "$base" true >/dev/null 2>"$tmp/probe.err"; then
  if grep -q -i "rlimit" "$tmp/probe.err" && command -v runc >/dev/null 2>&1; then
    E=(podman --runtime runc)
    build_flags+=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
    run_flags+=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
    say "podman: containers may not raise their limits here (no CAP_SYS_RESOURCE): runc with nofile=20000, nproc=32768"
  else
    cat "$tmp/probe.err" >&2
    die "podman cannot run a container from $base (above)"
  fi
fi
run() { "${E[@]}" run "${run_flags[@]}" "$@"; }

# The CA: a layer over the base with the certificate where the system step's ca-certificates picks it up.
if [ -n "$ca" ]; then
  mkdir -p "$tmp/ca"
  cp "$ca" "$tmp/ca/vitnb-build-ca.crt"
  printf 'FROM %s\nCOPY vitnb-build-ca.crt /usr/local/share/ca-certificates/vitnb-build-ca.crt\n' "$base" >"$tmp/ca/Dockerfile"
  "${E[@]}" build -q "${build_flags[@]}" -t vitnb-base:ca "$tmp/ca" >/dev/null || die "building the base with the CA failed"
  base=vitnb-base:ca
  say "trusting $ca during the build (in $base)"
fi

say "building $tag from the repository (docker/Dockerfile)"
t0=$(date +%s)
"${E[@]}" build "${build_flags[@]}" --network host --build-arg BASE_IMAGE="$base" -f docker/Dockerfile -t "$tag" . \
  >"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log" >&2; die "the build failed (last lines above)"; }
build_s=$(( $(date +%s) - t0 ))
size=$($engine image inspect --format '{{.Size}}' "$tag")
say "built in ${build_s}s, image size $(awk -v b="$size" 'BEGIN { printf "%.2f GB", b / 1e9 }') ($size bytes)"

say "vit info"
run --rm --network none "$tag" vit info

say "a short training, no network: vit pretrain -steps 50 (default warm-up)"
run --rm --network none "$tag" bash -c \
  'vit pretrain -preset micro28 -data fashion-mnist -steps 50 -progress=false -dir /tmp/run && test -s /tmp/run/results.json'

say "notebook 1, no network: vit notebook run"
run --rm --network none "$tag" vit notebook run -budget quick notebooks/01_patches.ipynb

say "JupyterLab (the image's command) answers with the gonb kernel"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
lab=$(run -d --network host -e JUPYTER_TOKEN="$token" "$tag" \
  jupyter lab --ip=127.0.0.1 --port="$port" --no-browser)
ok=""
for _ in $(seq 90); do
  if out=$(curl -fsS -H "Authorization: token $token" "http://127.0.0.1:$port/api/kernelspecs" 2>/dev/null); then
    if echo "$out" | python3 -c 'import json, sys; sys.exit(0 if "gonb" in json.load(sys.stdin)["kernelspecs"] else 1)'; then
      ok=1
      break
    fi
  fi
  sleep 1
done
if [ -z "$ok" ]; then
  $engine logs "$lab" 2>&1 | tail -20 >&2
  die "JupyterLab in the container did not answer with the gonb kernel within 90 s"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/lab?token=$token")
[ "$code" = 200 ] || die "JupyterLab's /lab answered $code"
say "JupyterLab answered: kernels $(echo "$out" | python3 -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin)["kernelspecs"])))'), /lab 200"
$engine stop -t 20 "$lab" >/dev/null
$engine rm "$lab" >/dev/null
lab=""

if [ -n "$rm_image" ]; then
  $engine rmi "$tag" >/dev/null
fi
say "ok: built in ${build_s}s, $(awk -v b="$size" 'BEGIN { printf "%.2f GB", b / 1e9 }'); vit info, training, notebook 1 and JupyterLab passed"
