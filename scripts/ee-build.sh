#!/usr/bin/env bash
# Build the sre.toolkit execution environment (EE) image on a fresh Debian machine, offline from any
# container registry, then run the diagnose playbook inside it against the lab, as AWX would.
#
#   scripts/ee-build.sh [tools|base|image|run|all]     (default all; `make ee`)
#
#   tools  podman and debootstrap from Debian's packages; containers.conf default ulimits (nofile,
#          nproc) set to the host's hard limits, or every container fails to start ("setrlimit").
#   base   a Debian rootfs made with debootstrap from the machine's Debian mirror, `podman import`ed
#          as localhost/sre-toolkit-ee-base:<suite>; the rootfs tar is cached outside the repo in
#          $EE_CACHE/<suite>-<yyyymm>-r<recipe>.tar (a new month or recipe makes a new one).
#   image  the collection tarball, `ansible-builder create` from docs/awx/ee/execution-environment.yml,
#          `podman build` (host network) -> localhost/sre-toolkit-ee:<collection version>; then checks
#          that `ansible-galaxy collection list` inside shows sre.toolkit and its Python requirements import.
#   run    ansible-runner runs tests/ee/diagnose_in_ee.yml inside the image (process isolation with
#          podman, host network: the lab listens on 127.0.0.1), with the lab's kubeconfig and Prometheus;
#          checks the report files and the set_stats artifacts (sre_toolkit_report) the job leaves.
#
# Environment: EE_CACHE (default ~/.cache/sre-toolkit-ee), EE_SUITE (bookworm), EE_MIRROR (the Debian
# mirror of /etc/apt/sources.list*), EE_WORK (work folder, default a new temporary one), EE_TAG.
# Times of each stage are printed at the end (and written to $EE_WORK/times.txt).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
STAGES=("$@")
[ ${#STAGES[@]} -eq 0 ] && STAGES=(all)
[ "${STAGES[*]}" = all ] && STAGES=(tools base image run)

EE_CACHE="${EE_CACHE:-$HOME/.cache/sre-toolkit-ee}"
EE_SUITE="${EE_SUITE:-bookworm}"
EE_WORK="${EE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/sre-toolkit-ee-build.XXXXXX")}"
DEFINITION="$REPO/docs/awx/ee/execution-environment.yml"
BASE_IMAGE="localhost/sre-toolkit-ee-base:$EE_SUITE"
# What goes into the base rootfs; a change here makes a new cache key.
BASE_PACKAGES="python3,python3-pip,python3-venv,ca-certificates,tar,gzip"
RECIPE="$(printf '%s|%s|1' "$EE_SUITE" "$BASE_PACKAGES" | sha256sum | cut -c1-8)"
BASE_TAR="$EE_CACHE/$EE_SUITE-$(date -u +%Y%m)-r$RECIPE.tar"
VERSION="$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')"
EE_TAG="${EE_TAG:-localhost/sre-toolkit-ee:$VERSION}"
mkdir -p "$EE_CACHE" "$EE_WORK"
TIMES="$EE_WORK/times.txt"
: > "$TIMES"

say() { printf 'ee-build: %s\n' "$*"; }
fail() { printf 'ee-build: FAILED: %s\n' "$*" >&2; exit 1; }

debian_mirror() {
  # The machine's own Debian mirror (deb822 URIs: or one-line deb), else deb.debian.org.
  local uri
  uri="$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
         grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -1 | tr -d ' ')" || true
  echo "${EE_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

stage_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v runc >/dev/null || missing+=(runc)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      podman debootstrap runc netavark aardvark-dns ca-certificates >/dev/null
  fi
  # podman's default ulimits (nofile 1048576, nproc 4194304) are above this machine's hard limits, and
  # conmon gets nproc 32768 here: every container failed with "setrlimit ... Operation not permitted".
  # crun refuses this machine's cgroups ("cgroups in hybrid mode not supported, drop all controllers
  # from cgroupv2": a cgroup v1 machine whose cgroup2 mount has the hugetlb controller); runc runs.
  local conf=/etc/containers/containers.conf.d/50-sre-toolkit.conf
  local nofile nproc pidmax want
  nofile="$(ulimit -Hn)"; [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
  nproc="$(ulimit -Hu)"; [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  pidmax="$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)"; [ "$nproc" -gt "$pidmax" ] && nproc="$pidmax"
  want="$(printf '# written by sre.toolkit scripts/ee-build.sh\n[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n\n[engine]\nruntime = "runc"\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n' \
          "$nofile" "$nofile" "$nproc" "$nproc")"
  if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
    mkdir -p "$(dirname "$conf")"
    rm -f /etc/containers/containers.conf.d/50-sre-toolkit-ulimits.conf
    printf '%s\n' "$want" > "$conf"
    say "wrote $conf (nofile $nofile, nproc $nproc, runtime runc)"
  fi
  podman --version
}

stage_base() {
  if podman image exists "$BASE_IMAGE" &&
     [ "$(podman image inspect --format '{{ index .Labels "org.sre-toolkit.base" }}' "$BASE_IMAGE" 2>/dev/null)" = "$(basename "$BASE_TAR")" ]; then
    say "base image $BASE_IMAGE is there ($(basename "$BASE_TAR"))"
    return 0
  fi
  if [ ! -s "$BASE_TAR" ]; then
    local mirror rootfs
    mirror="$(debian_mirror)"
    rootfs="$EE_WORK/rootfs"
    say "debootstrap $EE_SUITE from $mirror (minbase + $BASE_PACKAGES)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" "$EE_SUITE" "$rootfs" "$mirror" > "$EE_WORK/debootstrap.log" 2>&1 ||
      { tail -20 "$EE_WORK/debootstrap.log" >&2; fail "debootstrap"; }
    printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$EE_SUITE" "$mirror" "$EE_SUITE" > "$rootfs/etc/apt/sources.list"
    # Trust the same extra certificate authorities as this machine (a TLS-inspecting egress proxy's),
    # so pip inside the build reaches PyPI as the host does.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
      cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
      chroot "$rootfs" update-ca-certificates >/dev/null 2>&1 || fail "update-ca-certificates in the rootfs"
    fi
    # An EE installs its Python packages into the system Python (PEP 668 marker off) with the system CAs.
    rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    tar --numeric-owner -C "$rootfs" -cf "$BASE_TAR.part" . && mv "$BASE_TAR.part" "$BASE_TAR"
    rm -rf "$rootfs"
    # Older keys of the same suite are superseded.
    find "$EE_CACHE" -maxdepth 1 -name "$EE_SUITE-*.tar" ! -name "$(basename "$BASE_TAR")" -delete
  fi
  say "podman import $(basename "$BASE_TAR") as $BASE_IMAGE"
  podman import \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL org.sre-toolkit.base=$(basename "$BASE_TAR")" \
    --change 'CMD ["/bin/bash"]' \
    "$BASE_TAR" "$BASE_IMAGE" >/dev/null 2>&1
}

stage_image() {
  local ctx="$EE_WORK/context" def="$EE_WORK/definition"
  rm -rf "$ctx" "$def" && mkdir -p "$def"
  say "building the collection ($VERSION)"
  ansible-galaxy collection build --force --output-path "$EE_WORK/dist" . >/dev/null
  cp "$DEFINITION" "$def/execution-environment.yml"
  cp "$REPO/docs/awx/ee/apt-get-ee" "$def/"
  cp "$EE_WORK/dist/sre-toolkit-$VERSION.tar.gz" "$def/sre-toolkit.tar.gz"
  say "ansible-builder create ($DEFINITION)"
  ansible-builder create -f "$def/execution-environment.yml" -c "$ctx" --output-filename Containerfile -v 1 >/dev/null
  say "podman build $EE_TAG (log: $EE_WORK/build.log)"
  podman build --network host -f "$ctx/Containerfile" -t "$EE_TAG" \
    --build-arg EE_BASE_IMAGE="$BASE_IMAGE" --build-arg EE_BUILDER_IMAGE="$BASE_IMAGE" \
    "$ctx" > "$EE_WORK/build.log" 2>&1 || { tail -40 "$EE_WORK/build.log" >&2; fail "podman build"; }
  say "checking the image"
  podman run --rm --network host "$EE_TAG" ansible-galaxy collection list sre.toolkit > "$EE_WORK/collections.txt" 2>&1 ||
    { cat "$EE_WORK/collections.txt" >&2; fail "ansible-galaxy collection list in the image"; }
  grep -E "^sre\.toolkit +$VERSION" "$EE_WORK/collections.txt" || fail "sre.toolkit $VERSION is not installed in the image"
  local imports
  imports="$(python - <<'PY'
import re, pathlib
names = {"yaml" if n == "PyYAML" else n.lower() for n in
         (re.split(r"[<>=!~ ;\[]", l.strip())[0] for l in pathlib.Path("requirements.txt").read_text().splitlines())
         if n and not n.startswith("#")}
print(",".join(sorted(names)))
PY
)"
  podman run --rm --network none "$EE_TAG" python3 -c "
import importlib
for name in '$imports'.split(','):
    m = importlib.import_module(name)
    print(name, getattr(m, '__version__', ''))
" > "$EE_WORK/imports.txt" 2>&1 || { cat "$EE_WORK/imports.txt" >&2; fail "the collection's Python requirements do not import in the image"; }
  tr '\n' ' ' < "$EE_WORK/imports.txt"; echo
  podman image inspect --format '{{.Size}}' "$EE_TAG" | awk '{printf "ee-build: image size %.0f MB\n", $1/1e6}'
}

stage_run() {
  say "running sre.toolkit.diagnose inside $EE_TAG against the lab"
  python "$REPO/tests/ee/run_in_ee.py" --image "$EE_TAG" --work "$EE_WORK/runner"
}

for stage in "${STAGES[@]}"; do
  t0=$SECONDS
  "stage_$stage"
  printf '%-6s %5ss\n' "$stage" "$((SECONDS - t0))" >> "$TIMES"
done
say "times (s):"
cat "$TIMES"
say "OK (work: $EE_WORK)"
