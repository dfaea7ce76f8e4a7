#!/usr/bin/env bash
# Development aid: make `import pelican_tui` resolve to the working tree
# without installing (mirrors pyproject's package-dir mapping with symlinks).
# Not needed with the editable install bin/test and bin/pelican-tui make.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$root/bin/_bootstrap.sh"
pelican_source_links "${PELICAN_DEV_PATH:-/tmp/ptpath}"
