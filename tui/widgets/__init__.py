"""pelican-tui's widgets, one module per widget family."""
