#!/usr/bin/env bash
# Builds the lab's Kubernetes control plane from Go modules into a version-keyed cache
# outside the repo. Idempotent: a component whose binary exists is not rebuilt.
set -euo pipefail

K8S_VERSION="${LAB_K8S_VERSION:-1.36.4}"
ETCD_VERSION="${LAB_ETCD_VERSION:-3.6.10}"
KWOK_VERSION="${LAB_KWOK_VERSION:-0.8.0}"
CACHE_ROOT="${LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sre-toolkit-lab}"
BIN="$CACHE_ROOT/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=mod"
export GOPATH="${GOPATH:-$HOME/go}"

log() { printf '[lab-build] %s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

need() {
  [ -x "$BIN/$1" ] || return 1
  case "$1" in
    kubectl) "$BIN/$1" version --client >/dev/null 2>&1 ;;
    *) "$BIN/$1" --version >/dev/null 2>&1 ;;
  esac
}

build_kubernetes() {
  local missing=()
  # kubectl too: the image's kubectl (1.32) is more than one minor away from a 1.36 server.
  # kubelet only when asked (LAB_K8S_KUBELET=1: the realnode component); it takes the longest.
  local wanted=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  [ "${LAB_K8S_KUBELET:-0}" = 1 ] && wanted+=(kubelet)
  for c in "${wanted[@]}"; do need "$c" || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  local staging_tag="v0.${K8S_VERSION#*.}"
  local wrap="$CACHE_ROOT/wrap/kubernetes-$K8S_VERSION"
  mkdir -p "$wrap"
  (
    cd "$wrap"
    if [ ! -f go.mod ]; then
      printf 'module lab.local/k8s\n\ngo 1.26.0\n\ngodebug default=go1.26\n' > go.mod
      printf 'package main\n' > tools.go
      printf '//go:build tools\n\npackage main\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n\t_ "k8s.io/kubernetes/cmd/kubelet"\n)\n' > tools.go
      GOFLAGS=-mod=mod go mod download "k8s.io/kubernetes@v$K8S_VERSION"
      local modfile
      modfile="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod"
      go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
      # Upstream points every staging module at ./staging with v0.0.0; a dependency's
      # replaces are ignored, so pin each one to its published tag here.
      grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$modfile" | awk '{print $1}' | sort -u |
        while read -r m; do go mod edit -replace="$m=$m@$staging_tag"; done
      go mod tidy -e >/dev/null 2>&1 || true
    fi
    local pkg=k8s.io/component-base/version
    local ldflags="-s -w -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    mkdir -p "$BIN"
    for c in "${missing[@]}"; do
      log "building $c v$K8S_VERSION"
      go build -ldflags "$ldflags" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
      mv "$BIN/$c.tmp" "$BIN/$c"
    done
  )
}

build_etcd() {
  need etcd && return 0
  local wrap="$CACHE_ROOT/wrap/etcd-$ETCD_VERSION"
  mkdir -p "$wrap" "$BIN"
  (
    cd "$wrap"
    if [ ! -f go.mod ]; then
      printf 'module lab.local/etcd\n\ngo 1.26.0\n' > go.mod
      printf '//go:build tools\n\npackage main\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
      go mod edit -require="go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
      go mod tidy -e >/dev/null 2>&1 || true
    fi
    log "building etcd v$ETCD_VERSION"
    go build -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
    mv "$BIN/etcd.tmp" "$BIN/etcd"
  )
}

build_kwok() {
  need kwok && need kwokctl && return 0
  mkdir -p "$BIN"
  for c in kwok kwokctl; do
    log "installing $c v$KWOK_VERSION"
    GOBIN="$BIN" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/$c@v$KWOK_VERSION"
  done
}

main() {
  local t0=$SECONDS
  # Two test runs bringing the lab up at once would both edit the same go.mod ("existing contents
  # have changed since last read"): one builds, the other waits and then finds the binaries.
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.build.lock"
  flock 9
  build_etcd
  build_kwok
  build_kubernetes
  log "ready in $((SECONDS - t0))s: $BIN"
  echo "$BIN"
}

main "$@"
