"""The pipeline stages, in order: read, normalize, dedupe, represent, cluster, describe, facts."""
