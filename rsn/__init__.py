"""RSN: the Regional Security Network node."""

__version__ = "0.1.0"
