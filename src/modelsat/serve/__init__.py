"""OpenAI-compatible routing proxy (`modelsat serve`) and a local backend server (`modelsat backend`)."""
