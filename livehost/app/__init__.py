"""The top floor: a channel assembled from its config, run, controlled and served.

Builds on products, scripts_gen and streaming (which build on
livehost.core); never imports dashboards (livehost.main hands the console in).
"""
