#!/usr/bin/env bash
# The main job (until the runtime lands): build the toolchain, check the standard
# profiles and the examples, prove and compile the default policy (std::profiles::coding_agent)
# and show how it decides an exfiltration attempt before and after a secret is read.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p clawc
clawc=./target/release/clawc
out=$(mktemp -d)
$clawc check std::profiles examples/*.claw
echo "--- proving the default policy's properties (and that its filter implements it):"
$clawc verify std::profiles --policy coding_agent
$clawc compile std::profiles --policy coding_agent -o "$out/default.bin"
echo "--- reading a secret inside the workspace is allowed, and taints the sandbox:"
$clawc explain "$out/default.bin" --syscall openat --path /work/app/.env --env WORKSPACE=/work/app
echo "--- before that, HTTPS is allowed:"
$clawc explain "$out/default.bin" --state clean --syscall connect --addr tcp:151.101.1.1:443
echo "--- after it, every connect is refused:"
$clawc explain "$out/default.bin" --state tainted --syscall connect --addr tcp:151.101.1.1:443
echo "--- and ptrace kills the process, in the kernel:"
$clawc explain "$out/default.bin" --syscall ptrace
rm -rf "$out"
