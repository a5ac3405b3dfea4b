#!/usr/bin/env bash
# Installs what building and testing ClawLess needs on a fresh Debian machine.
# Idempotent: installs only what is missing; safe to run before every build.
set -euo pipefail

# System packages the build links against or the tests use: libz3-dev for the
# verifier (the z3 crate links the system Z3 4.8; its "bundled" build would
# compile Z3 from source for tens of minutes). libseccomp-dev is
# only for the benchmark baseline (bench/), which the workspace build compiles.
# git, make and python3 are the workloads of the runtime's benign suite and of the
# example agent (examples/agent/demo.sh); gcc also builds the attack programs.
# runc and busybox-static run the test of `clawc export --oci` for real (a busybox
# rootfs in an OCI container under the exported profile).
PACKAGES=(gcc make git python3 pkg-config libz3-dev libseccomp-dev runc busybox-static)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: no Rust toolchain (cargo) found; install one with rustup" >&2
    exit 1
  fi
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
