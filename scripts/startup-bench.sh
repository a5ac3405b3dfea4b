#!/bin/bash
# Start-up of `clawless exec -- true`, interleaved rounds (root; release build):
#   isolated with kernel-decided opens and a warm discovery cache, mediated,
#   isolated with a cold cache (the discovery cache files removed first; the
#   kernel's dentry cache stays warm). With OLD=<another clawless>, its warm
#   isolated start-up first in each round. Milliseconds, one round per line.
#   N=7 scripts/startup-bench.sh    (HOME=$BHOME, default /tmp/startup-home)
set -eu
NEW=${NEW:-./target/release/clawless} OLD=${OLD:-}
export HOME=${BHOME:-/tmp/startup-home}; mkdir -p "$HOME"
t() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; echo $(( ($(date +%s%N) - s) / 1000000 )); }
echo "# ${OLD:+old-warm }warm mediated cold load"
for _ in $(seq "${N:-7}"); do
  o=""; [ -n "$OLD" ] && o="$(CLAWLESS_KERNEL_OPENS=1 t "$OLD" exec --mode isolated -- true) "
  CLAWLESS_KERNEL_OPENS=1 "$NEW" exec --mode isolated -- true >/dev/null 2>&1 || true
  w=$(CLAWLESS_KERNEL_OPENS=1 t "$NEW" exec --mode isolated -- true)
  m=$(t "$NEW" exec --mode mediated -- true)
  rm -f /var/cache/clawless/secrets-*.txt
  c=$(CLAWLESS_KERNEL_OPENS=1 t "$NEW" exec --mode isolated -- true)
  echo "$o$w $m $c $(cut -d' ' -f1 /proc/loadavg)"
done
