"""The input sources: one module per source (its reader and normaliser), the file reading they
share (``files``, ``parsing``) and the database source (``agency_db``)."""

# A failed file of a national source touches every province: the run publishes nothing and the
# previous publication stays current. A failed file of a province source touches the provinces
# it covered when last read: they keep their previous selection, the others publish.
NATIONAL_SOURCES = ("sgk_employment", "exports_by_sector", "agency_db")


FILE_SOURCES = (
    "chamber_registry",
    "exporter_exports",
    "sgk_employment",
    "exports_by_sector",
    "capacity_register",
    "sector_turnover",
    "consultation",
)


ALL_SOURCES = (*FILE_SOURCES, "agency_db")
