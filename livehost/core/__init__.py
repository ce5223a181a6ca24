"""The ground floor: frames, the media clock, stages and pipeline, speech, playout, ledger, audit, store.

Imports only the standard library, numpy, redis and pydantic: everything
else in livehost builds on this package, never the other way round.
"""
