#!/bin/bash
# Landlock's rules sit on inodes: a granted directory renamed onto the carve would carry its rights.
C=$HOME/.cache
echo "MARKER carve probe3 ran"
mkdir -p $C/pip/sub && echo x > $C/pip/f && echo "setup ok"
mv $C/pip/sub $C/clawless && echo "RENAMED pip/sub -> clawless" || echo "refused pip/sub -> clawless"
mv $C/pip $C/clawless && echo "RENAMED pip -> clawless" || echo "refused pip -> clawless"
python3 -c "import os;os.rename('$C/pip','$C/clawless')" 2>&1 | tail -1
ln $C/pip/f $C/clawless/f 2>/dev/null && echo "LINKED into clawless" || echo "refused link into clawless"
echo y > $C/clawless/w 2>/dev/null && echo "WROTE clawless/w" || echo "refused write clawless/w"
