"""One file per schema version; revision ids are the version zero-padded (0001, 0002, ...)."""
