"""Control commands as a channel carries them out: refusals are answers, not failures of the channel."""

import pytest


def test_an_operator_ahead_of_the_host_is_refused_not_failed():
    from livehost.app.control.commands import execute
    from livehost.core.speech import QueueFull

    class Full:
        def say(self, text, lang=None):
            raise QueueFull("speech queue: operator items at limit 16")

    with pytest.raises(ValueError, match="say: speech queue: operator items at limit 16; try again"):
        execute(Full(), "say", {"text": "hello"})  # the API answers 422 with this, the channel logs no error
