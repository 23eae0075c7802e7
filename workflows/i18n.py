"""Marker for texts that the web layer translates when it shows them.

The workflows stay free of Flask; Babel's extractor collects strings wrapped in `N_`
(see babel.cfg) and the views pass them through `gettext` at display time.
"""


def N_(message: str) -> str:
    return message
