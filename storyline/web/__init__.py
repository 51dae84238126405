"""The web server (pages and JSON API) over a store: ``storyline serve``."""
