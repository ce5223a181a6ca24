"""The feed readers' one error (standard library only, so a parsing child process can raise it too)."""


class FeedError(Exception):
    """The source as a whole cannot be read (not this format, broken file, HTTP failure)."""
