"""Camera readers, inference and violation tracking: the roles of the pipeline."""
