# Sourced by bin/pelican-tui, bin/test and bin/bench: create the project's
# virtual environment on first use, with pelican-tui installed in editable mode
# so `import pelican_tui` runs the files in this tree (tracebacks name them and
# an edit needs no reinstall). Progress goes to stderr so it never mixes with
# command output.

pelican_bootstrap() {
    local mode="${1:-run}"  # run | dev (dev adds the test tools)
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
        "$VENV/bin/python" -m pip install -q --upgrade pip >&2
    fi
    # Source edits need nothing; install again only when pyproject.toml (the
    # dependencies, the package mapping) changed, the tree moved, or the
    # installed copy is not the editable one. A dev install also serves `run`.
    local stamp
    for stamp in "$VENV/.pelican-editable-$mode" "$VENV/.pelican-editable-dev"; do
        if [[ -f "$stamp" && ! "$root/pyproject.toml" -nt "$stamp" &&
            "$(cat "$stamp")" == "$root" ]] &&
            grep -qs '"editable": true' "$VENV"/lib/python3*/site-packages/pelican_tui-*.dist-info/direct_url.json; then
            return 0
        fi
    done
    local extras=""
    [[ "$mode" == dev ]] && extras="[dev]"
    echo "[pelican-tui] installing pelican-tui (editable) and its dependencies ..." >&2
    "$VENV/bin/python" -m pip install --progress-bar on -e "$root$extras" >&2
    printf '%s' "$root" >"$VENV/.pelican-editable-$mode"
}

# The package as a folder tree of symlinks under DEST/pelican_tui, mirroring
# pyproject's package-dir mapping (pelican_tui = tui/, pelican_tui.backends =
# backends/, pelican_tui.themes = themes/). The editable install resolves that
# mapping with an import hook, which Python follows but tools that look for
# packages on disk (mypy, import-linter) cannot; they search DEST instead.
# Safe to rerun while another run reads DEST: links are replaced in place and
# only links whose target is gone are removed. Prints DEST.
pelican_source_links() {
    local dest="$1" f
    mkdir -p "$dest/pelican_tui"
    for f in "$root"/tui/*; do
        [[ "$(basename "$f")" == __pycache__ ]] && continue
        ln -sfn "$f" "$dest/pelican_tui/$(basename "$f")"
    done
    ln -sfn "$root/backends" "$dest/pelican_tui/backends"
    ln -sfn "$root/themes" "$dest/pelican_tui/themes"
    find "$dest/pelican_tui" -maxdepth 1 -xtype l -delete
    echo "$dest"
}

# Run a command that prints paths under the link tree DEST (absolute, or
# relative to this tree as mypy prints them) and print them as paths in this
# tree instead (tui/app.py, backends/events.py), keeping its exit status.
pelican_tree_paths() {
    local dest="$1" prefix pkg script=()
    shift
    for prefix in "$dest" "${dest#"$root"/}"; do
        pkg="$(printf '%s' "$prefix/pelican_tui/" | sed 's/[][\.*^$|]/\\&/g')"
        script+=(-e "s|${pkg}backends/|backends/|g" -e "s|${pkg}themes/|themes/|g" -e "s|${pkg}|tui/|g")
    done
    "$@" | sed "${script[@]}"
    return "${PIPESTATUS[0]}"
}
