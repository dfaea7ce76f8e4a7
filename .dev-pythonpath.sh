#!/usr/bin/env bash
# Development aid: make `import pelican_tui` resolve to the working tree
# without installing (mirrors pyproject's package-dir mapping with symlinks).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${PELICAN_DEV_PATH:-/tmp/ptpath}"
mkdir -p "$dest/pelican_tui"
for f in "$root"/tui/*; do ln -sfn "$f" "$dest/pelican_tui/$(basename "$f")"; done
ln -sfn "$root/backends" "$dest/pelican_tui/backends"
ln -sfn "$root/themes" "$dest/pelican_tui/themes"
echo "$dest"
