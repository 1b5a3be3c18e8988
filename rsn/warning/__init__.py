"""Early warning: detectors over the report counts, alerts with a lifecycle, CAP warnings.

Detection methods are pure functions of a count series (`rsn.warning.methods`), so they
can be tested against known values and run by `rsn warning backtest` on series from
outside the node. What series a reader scope may see, and who may read an alert, are
decided by `rsn.sharing`.
"""
