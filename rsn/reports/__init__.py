"""Reports: filing, versions, listing, search and release.

The search index subscribes to report writes when the package loads, so whoever
writes a report has it (the correlation index is `rsn.fusion`'s, loaded by the node).
"""

from rsn.reports import search as search  # subscribes to ReportsWritten
