#!/bin/bash
# The session's secret names grow by one entry per secret-named link the agent makes
# (no bound on by_path), and every symlink the agent makes, of any name, scans them all
# (may_name -> places_at). Not a leak: the cost of the monitor (a tainted agent can do it).
set -u; . "$(dirname "$0")/../common.sh"
D=$R8/names-grow-per-link; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -o $W/manylinks $D/manylinks.c
echo "MARKER names-grow-per-link: ${1:-40000} links, mediated mode"
runmode mediated $H $W ./manylinks ${1:-40000} ${2:-10000} 2>&1 | grep -v "watcher armed"
