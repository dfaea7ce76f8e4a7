"""A session written out for people and scripts: files, a run card, an HTML page, JSON."""
