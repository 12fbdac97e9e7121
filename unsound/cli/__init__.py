"""The command line: thin glue that parses options, runs the pipeline and returns an exit code."""
