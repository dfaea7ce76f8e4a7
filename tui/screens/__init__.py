"""pelican-tui's secondary screens and modals, one module each.

Every screen gets its data through its constructor and hands its result back
with ``dismiss(...)``; none of them reaches into the app.
"""
