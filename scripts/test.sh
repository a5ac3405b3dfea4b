#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The API docs build without a warning (broken intra-doc links, private links).
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
cargo test --workspace --locked
# The runtime suites again in mediated mode (the fallback where namespaces are
# unavailable); the run above was isolated.
CLAWLESS_MODE=mediated cargo test -p claw-runtime --locked --test attacks --test benign --test exec_cli --test examples --test net_conformance --test docs
