#!/bin/bash
C=$HOME/.cache
echo "MARKER carve probe2 ran (clawless absent at launch)"
mkdir $C/clawless && echo "MKDIR clawless ok" || echo "refused mkdir"
echo x > $C/clawless/p 2>&1 && echo "WROTE into new clawless" || echo "refused write"
rmdir $C/clawless 2>/dev/null; ln -s $C/pip $C/clawless && echo "SYMLINK clawless->pip ok" || echo "refused symlink"
echo x > $C/pip/q && echo "WROTE pip/q (now ~/.cache/clawless/q)"
mkdir $C/newtool && echo x > $C/newtool/f && echo "WROTE newtool/f" || echo "refused newtool"
