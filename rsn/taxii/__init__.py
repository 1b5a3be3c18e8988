"""TAXII 2.1: the server at /taxii2/ (`views`) and `rsn taxii pull` (`pull`).

Other features may use the media types, the API root's name and the main
collection's id; the routes are mounted by `rsn.api.routes`.
"""

from __future__ import annotations

from rsn.taxii.schemas import API_ROOT, MAIN_COLLECTION, STIX_21, TAXII_21

__all__ = ["API_ROOT", "MAIN_COLLECTION", "STIX_21", "TAXII_21"]
