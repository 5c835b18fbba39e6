"""From a file to supervised windows: reading tables (any encoding, CSV/Excel/Parquet, in a process apart), time
stamps and numbers as written, the shipped samples, and the chronological split into scaled windows."""
