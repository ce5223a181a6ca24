"""Catalog feed readers: one small module per source format, one item interface (:mod:`.base`)."""
