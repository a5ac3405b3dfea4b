#!/bin/bash
# The workspace has `.env -> config/dev.env` from before the session (the target
# existing, or dangling). The agent holds its own `draft` and gives it the name
# config/dev.env (rename over, link, symlink, or rename of another file): none of these
# namings is decided as a read of `.env`, so the key the user then writes into .env
# lands in the agent's inode and is read through the kept descriptor and sent.
# Controls: `none` (no naming: the POST send arrives, the channel works after the
# naming step too), `symlink-then-rename` (naming `.env` itself: tainted, held).
set -u; D=$(cd "$(dirname "$0")" && pwd)
echo "MARKER: round7 secret-link-end-naming"
CFGS=${CFGS:-} $D/../naming-probes/probe.sh none symlink-then-rename dotfiles-read existing-rename-over existing-unlink-link dangling-rename dangling-link dangling-symlink dangling-creat dotfiles-rename-over dotfiles-link
