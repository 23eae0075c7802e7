"""Tables in and out: the one CSV writer every export uses, and the one CSV reader every import
uses (tabular/csvfile.py). An XLSX export, if one is ever added, writes its cells through
`neutralise` too."""

from tabular.csvfile import (
    ACCEPTED_ENCODINGS,
    Table,
    TableError,
    csv_bytes,
    csv_text,
    neutralise,
    read_table,
    restore,
)

__all__ = ["ACCEPTED_ENCODINGS", "Table", "TableError", "csv_bytes", "csv_text", "neutralise", "read_table",
           "restore"]
