"""pelican-tui's engine: model backends, the llama-server process, pictures and sessions.

Nothing in this package imports Textual (an import-linter contract and a test
enforce it); it returns plain data and async iterators of typed events, which
the screens in ``pelican_tui`` only draw.
"""
