"""The `modelsat` command line: one module per verb group, each thin over the library."""
