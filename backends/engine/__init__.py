"""A comparison, from the panes' choices to the stored session: planned,
scheduled, streamed, recorded. The TUI and ``pelican-tui run`` both drive it."""
