"""The agent's tools: pure functions over the bundled JSON data, run locally by the router.

They are deliberately *not* ``@theseus.tool``: a ``@theseus.tool`` call is served from the
recording in replay, while these are the code a fix changes, so replay must run them again.
"""
