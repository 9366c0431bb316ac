"""Routing with a trained router directory: load it, read the request, score the candidates' cards."""
