"""OnTime benchmarks (see ../shared/docs/BENCHMARKS.md); run through `ontime bench`."""
