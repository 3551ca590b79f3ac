"""kume: the cluster-selection pipeline of Turkey's regional cluster programme."""

__version__ = "0.1.0"
