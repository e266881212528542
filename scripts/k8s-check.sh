#!/usr/bin/env bash
# Checks Fleet's deployment files without a cluster or a container runtime:
#   1. renders deploy/kubernetes/base and deploy/kubernetes/overlays/production with
#      kustomize (the one inside Debian 12's kubectl 1.20, unpacked into the cache, so it
#      needs only apt and never touches a kubectl already installed);
#      when a newer kubectl is on PATH, renders both again with it and requires the same
#      objects (the manifests stay compatible with old and current kustomize);
#   2. validates every rendered object, strictly, against the Kubernetes 1.30 and 1.37
#      OpenAPI schemas (kubernetes-validate from PyPI, in a venv under
#      ${XDG_CACHE_HOME:-$HOME/.cache}/fleet), KEDA's ScaledObject against the schema in
#      deploy/kubernetes/validate/, plus Fleet's own rules (deploy/kubernetes/validate/validate.py);
#   3. checks the Dockerfile statically: multi-stage, static Swift standard library,
#      slim runtime, a numeric non-root USER equal to the manifests' runAsUser;
#   4. with FLEET_BIN=path/to/fleet (built beforehand; this script builds nothing), runs
#      each role as the production overlay does (args, ConfigMap settings) on loopback
#      ports and SQLite, and checks the probes, ports, metrics and SIGTERM exit the
#      manifests count on (deploy/kubernetes/validate/smoke.py).
# Exits non-zero on any failure. A few seconds once the packages are installed.
#
#   FLEET_K8S_VERSIONS="1.30 1.37"   Kubernetes versions to validate against
#   FLEET_K8S_KEEP=1                 keep the rendered manifests (their folder is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'k8s-check: %s\n' "$*" >&2; exit 1; }
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo

# Debian packages that are missing (as root, or through sudo), as scripts/test.sh does.
need() {
    local missing=()
    for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    step "installing ${missing[*]}"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

versions=${FLEET_K8S_VERSIONS:-1.30 1.37}
validate_version=1.37.0 # kubernetes-validate on PyPI: bundles the schemas of 1.25 to 1.37
cache="${XDG_CACHE_HOME:-$HOME/.cache}/fleet"
kube_root="$cache/kubernetes-client"
kubectl_debian="$kube_root/usr/bin/kubectl"
venv="$cache/k8s-venv"
kube="$root/deploy/kubernetes"

command -v dpkg >/dev/null || fail "needs a Debian system (apt, dpkg)"
need python3 python3-venv

# --- the renderer: Debian's kubernetes-client, unpacked (not installed: its
# /usr/bin/kubectl would clash with any other kubectl package).
if ! "$kubectl_debian" version --client >/dev/null 2>&1; then
    step "fetching Debian's kubernetes-client (kubectl 1.20, kustomize v2.0.3) into $kube_root"
    download=$(mktemp -d)
    chmod 755 "$download" # apt's _apt user writes there when it can
    if ! (cd "$download" && apt-get download -q kubernetes-client >/dev/null 2>&1); then
        $sudo apt-get update -qq
        (cd "$download" && apt-get download -q kubernetes-client >/dev/null 2>&1) ||
            fail "apt-get download kubernetes-client failed"
    fi
    rm -rf "$kube_root" && mkdir -p "$kube_root"
    dpkg-deb -x "$download"/kubernetes-client_*.deb "$kube_root"
    rm -rf "$download"
    "$kubectl_debian" version --client >/dev/null 2>&1 || fail "the unpacked kubectl does not run"
fi

# --- the validator.
if ! "$venv/bin/python" -c "import kubernetes_validate, sys; sys.exit(kubernetes_validate.__version__ != '$validate_version')" 2>/dev/null; then
    step "installing kubernetes-validate $validate_version (PyPI) into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$validate_version"
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/fleet-k8s-check.XXXXXX")
if [ "${FLEET_K8S_KEEP:-0}" = 1 ]; then
    echo "rendered manifests are kept in $out"
else
    trap 'rm -rf "$out"' EXIT
fi

# --- 1. render.
step "rendering with kustomize v2.0.3 (Debian's kubectl $("$kubectl_debian" version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\([^"]*\)".*/\1/p'))"
render() { # kubectl, target name, folder
    if ! "$1" kustomize "$kube/$3" >"$out/$2.yaml" 2>"$out/$2.err"; then
        cat "$out/$2.err" >&2
        fail "kustomize failed on deploy/kubernetes/$3"
    fi
    printf '  deploy/kubernetes/%s: %s objects\n' "$3" "$(grep -c '^kind:' "$out/$2.yaml")"
}
render "$kubectl_debian" base base
render "$kubectl_debian" production overlays/production

compare=()
modern=$(command -v kubectl || true)
if [ -n "$modern" ] && [ "$(readlink -f "$modern")" != "$(readlink -f "$kubectl_debian")" ] &&
    modern_version=$("$modern" version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p') &&
    [ -n "$modern_version" ]; then
    step "rendering again with $modern (kustomize $modern_version) to compare"
    render "$modern" base-current base
    render "$modern" production-current overlays/production
    compare=(--compare base.yaml base-current.yaml
        --compare production.yaml production-current.yaml)
else
    echo "  (no newer kubectl on PATH: the comparison with current kustomize is skipped)"
fi

# --- 2. validate.
version_args=()
for version in $versions; do version_args+=(--kubernetes-version "$version"); done
step "validating (strict) against Kubernetes $versions, plus Fleet's rules"
(cd "$out" && "$venv/bin/python" "$kube/validate/validate.py" "${version_args[@]}" \
    --crd-schema "$kube/validate/keda-scaledobject-v1alpha1.schema.json" \
    --secret-example "$kube/base/secret.example.yaml" \
    --sources "$root/Sources" \
    "${compare[@]}" \
    base.yaml production.yaml) || fail "the manifests are not valid (above)"

# --- 3. the Dockerfile, statically (it is not built here: no container runtime).
step "checking the Dockerfile"
dockerfile="$root/Dockerfile"
problems=()
[ -f "$dockerfile" ] || fail "no Dockerfile"
[ -f "$root/.dockerignore" ] && grep -qx '\.build\*\?' "$root/.dockerignore" ||
    problems+=(".dockerignore must exclude .build")
[ "$(grep -cE '^FROM ' "$dockerfile")" -ge 2 ] || problems+=("not multi-stage")
grep -qE '^RUN .*swift build .*(--static-swift-stdlib|-static-stdlib)' "$dockerfile" ||
    grep -qE '^ *(&& )?swift build .*--static-swift-stdlib' "$dockerfile" ||
    problems+=("swift build without --static-swift-stdlib")
runtime=$(grep -E '^FROM ' "$dockerfile" | tail -1 | awk '{print $2}')
case "$runtime" in
    *slim* | *distroless* | *ubi-minimal* | *chiseled*) ;;
    *) problems+=("runtime stage $runtime is not a slim image") ;;
esac
user=$(grep -E '^USER ' "$dockerfile" | tail -1 | awk '{print $2}')
uid=${user%%:*}
if [ -z "$user" ]; then
    problems+=("no USER: the image would run as root")
elif ! [[ "$uid" =~ ^[0-9]+$ ]] || [ "$uid" = 0 ]; then
    problems+=("USER $user must be a numeric non-root UID (runAsNonRoot cannot check a name)")
else
    for manifest in "$out/base.yaml" "$out/production.yaml"; do
        if grep -E 'runAsUser: [0-9]+' "$manifest" | grep -vq "runAsUser: $uid\$"; then
            problems+=("$(basename "$manifest"): runAsUser differs from the image's USER $uid")
        fi
    done
fi
last_stage=$(awk '/^FROM /{n=NR} END{print n}' "$dockerfile")
tail -n +"$last_stage" "$dockerfile" | grep -qE '^(COPY|ADD) --from=' || problems+=("the runtime stage copies nothing from the build stage")
tail -n +"$last_stage" "$dockerfile" | grep -qE 'swift (build|package)' && problems+=("the runtime stage builds")
if [ ${#problems[@]} -gt 0 ]; then
    printf '  FAIL %s\n' "${problems[@]}"
    fail "the Dockerfile check failed"
fi
echo "  multi-stage, --static-swift-stdlib, runtime $runtime, USER $user (= the manifests' runAsUser)"

# --- 4. the real binary under the manifests' settings, probes and ports (optional: this
# script builds nothing; scripts/test.sh passes the binary it built).
if [ -n "${FLEET_BIN:-}" ]; then
    [ -x "$FLEET_BIN" ] || fail "FLEET_BIN=$FLEET_BIN is not an executable"
    step "running $FLEET_BIN as the production overlay runs each role (SQLite, loopback ports)"
    "$venv/bin/python" "$kube/validate/smoke.py" --binary "$FLEET_BIN" "$out/production.yaml" ||
        fail "the binary does not do what the manifests expect (above)"
    smoke="; the binary passes the manifests' probes"
else
    echo
    echo "(FLEET_BIN unset: the run of the binary under the manifests' probes is skipped)"
    smoke=""
fi

step "k8s-check passed in $(($(date +%s) - started)) s: base and production overlay valid for Kubernetes $versions; Dockerfile ok$smoke"
