#!/usr/bin/env bash
# The main job: build the toolchain and check the standard profiles and the
# example policies. (Once the runtime lands this runs an agent under the default
# policy instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p clawc
./target/release/clawc check std::profiles examples/*.claw
