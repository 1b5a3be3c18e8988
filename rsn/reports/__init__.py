"""Reports: filing, versions, listing, search and release.

The search index and the kept counts subscribe to report writes when the package
loads, so whoever writes a report has them (the correlation index is `rsn.fusion`'s,
loaded by the node).
"""

from rsn.reports import search as search  # subscribes to ReportsWritten
from rsn.reports import tallies as tallies  # subscribes to ReportsWritten
