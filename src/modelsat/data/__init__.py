"""Outcomes: the canonical table of (model, query) results, importers, splits and zoos."""
