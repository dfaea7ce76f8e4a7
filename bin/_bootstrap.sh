# Sourced by bin/pelican-tui and bin/test: create the project's virtual
# environment on first use and keep the installed package in step with the
# source tree. Progress goes to stderr so it never mixes with command output.

pelican_bootstrap() {
    local mode="${1:-run}"  # run | dev
    VENV="${PELICAN_VENV:-$root/.venv}"
    local python="${PELICAN_PYTHON:-}"
    if [[ -z "$python" ]]; then
        for candidate in python3.13 python3.12 python3.11 python3; do
            if command -v "$candidate" >/dev/null 2>&1 &&
                "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
                python="$candidate"
                break
            fi
        done
    fi
    if [[ -z "$python" ]]; then
        echo "pelican-tui needs Python 3.11 or newer (python3 --version says $(python3 --version 2>&1))." >&2
        exit 1
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "[pelican-tui] creating virtual environment in $VENV ..." >&2
        "$python" -m venv "$VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel >&2
    fi
    local extras="" stamp="$VENV/.pelican-installed-$mode"
    [[ "$mode" == dev ]] && extras="[dev]"
    # Reinstall when dependencies or any source file changed since last install.
    local newer=""
    if [[ -f "$stamp" ]]; then
        newer="$(find "$root/pyproject.toml" "$root/tui" "$root/backends" "$root/themes" \
            -newer "$stamp" -print -quit 2>/dev/null)"
    fi
    if [[ ! -f "$stamp" || -n "$newer" ]]; then
        if [[ ! -f "$stamp" ]] || [[ "$root/pyproject.toml" -nt "$stamp" ]]; then
            echo "[pelican-tui] installing pelican-tui and its dependencies ..." >&2
            "$VENV/bin/python" -m pip install --progress-bar on "$root$extras" >&2
        else
            echo "[pelican-tui] updating the installed package from the source tree ..." >&2
            "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation --force-reinstall "$root" >&2
        fi
        touch "$stamp"
    fi
}
