"""Model-written SVG: finding it in an answer and rendering it in a sandboxed worker."""
