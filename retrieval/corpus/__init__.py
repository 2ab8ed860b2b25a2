"""Articles in: read and clean files, ingest files, URLs and uploads, chunk into passages, analyse text."""
