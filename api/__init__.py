"""OnTime's shell: HTTP API, store, settings and the `ontime` command line."""
