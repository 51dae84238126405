"""The store behind one interface; SQLite is the embedded default."""

from storyline.store.sqlite import Store, StoreError

__all__ = ["Store", "StoreError", "open_store"]


def open_store(path) -> Store:
    return Store(path)
