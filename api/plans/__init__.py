"""The live plan service, one module per job, read top to bottom:

state      the plan's state, typed, with its one codec, and pure changes to it
views      read views: the state as the API shows it (the one domain -> wire path)
"""
