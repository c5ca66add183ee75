"""OnTime's pure optimizer core: model, travel matrices, engines, schedule, replan, events.

Imports no web, schema or database library (a test checks)."""
