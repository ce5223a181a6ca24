"""A channel's control plane in Redis: its live state out, operator commands in.

:mod:`.protocol` is what a client (the console, any tool) uses; :mod:`.commands`
what each command does to a running session; :mod:`.plane` the channel's
side: publishing its state and following its command stream.
"""
