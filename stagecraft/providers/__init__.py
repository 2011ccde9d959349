"""Cloud providers: pure planners plus API executors (imported lazily by their drivers)."""
