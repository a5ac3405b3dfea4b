#!/bin/bash
# runs inside the sandbox: try to write into ~/.cache/clawless by every route
C=$HOME/.cache
echo "MARKER carve probe ran"
echo x > $C/clawless/direct 2>&1 && echo "WROTE direct" || echo "refused direct"
mv $C/clawless $C/old-clawless 2>&1 && echo "RENAMED clawless away" || echo "refused rename"
rmdir $C/clawless 2>&1 && echo "RMDIR ok" || echo "refused rmdir"
mkdir -p $C/pip/sub && mv $C/pip $C/clawless2 2>&1; 
mv $C/pip $C/clawless 2>&1 && echo "RENAMED pip->clawless" || echo "refused pip->clawless"
echo y > $C/clawless/after 2>&1 && echo "WROTE after" || echo "refused after"
ls -la $C $C/clawless 2>&1
