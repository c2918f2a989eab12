"""A run's state between tasks: planning, staged records, manifests and summaries, usage, lineage, assets."""
