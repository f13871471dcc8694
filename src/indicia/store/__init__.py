"""The store: STIX 2.1 objects as the stored truth, with projections for querying and matching."""

from indicia.store.engine import connect, database_url, indicia_home
from indicia.store.projection import Prepared, prepare
from indicia.store.repository import Store, UpsertResult

__all__ = [
    "Prepared",
    "Store",
    "UpsertResult",
    "connect",
    "database_url",
    "indicia_home",
    "prepare",
]
