#!/bin/bash
# A secret (`/**/.env`) on the tmpfs /dev/shm (writable by the default profile's
# `devices` set) and in /var/tmp, /opt, existing before the session.
set -u; . "$(dirname "$0")/../common.sh"
D=$R4/devshm-secret; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H
gcc -O1 -I$R4 -o $W/readsend $R4/readsend.c
for d in /dev/shm/rt4 /var/tmp/rt4 /opt/rt4 /etc/rt4; do mkdir -p $d; echo "SECRET-ENV-$(basename $(dirname $d))" > $d/.env; done
listen 127.0.0.1 $D/out.txt
for d in /dev/shm/rt4 /var/tmp/rt4 /opt/rt4 /etc/rt4; do
  echo "== $d/.env"; run $H $W ./readsend 127.0.0.1 plain $d/.env; done
rm -rf /dev/shm/rt4 /var/tmp/rt4 /opt/rt4 /etc/rt4
verdict $D/out.txt SECRET-ENV
