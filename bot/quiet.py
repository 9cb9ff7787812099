"""`python -m bot.quiet <rasa arguments>`: Rasa's own command line (`rasa train`, `rasa run actions`,
`rasa shell`...) without pages of warnings that mean nothing to a newcomer.

Importing Sanic (Rasa imports it) turns every DeprecationWarning on, once each, so each command
printed some twenty from the pinned packages (pkg_resources, pyparsing, click...). They are about
those packages' futures, not ours, and no upgrade can fix them within Rasa 3.6's pins. Also quiet:
Rasa's warning that a response is "not used in any story or rule", true by design of the
responses our actions and forms send (utter_ask_*, an app answer's parts). Every other warning
still shows. `PYTHONWARNINGS=default` shows them all again.
"""

from __future__ import annotations

import os
import sys
import warnings


def _our_filters() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    warnings.filterwarnings("ignore", message=r".*is not used in any story or rule",
                            category=UserWarning)
    # Only the "Was this helpful?" buttons send it, never a typed message.
    warnings.filterwarnings("ignore", message=r"The intent 'feedback' is listed in the domain",
                            category=UserWarning)


def quiet_warnings() -> None:
    """Hide the warnings above. Sanic puts its filter in front as it is imported, and Rasa puts
    one in front ("once" for every UserWarning, which pyparsing's deprecations also are) when its
    command line starts, so ours go in front of both, and again after Rasa's."""
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    if os.environ.get("PYTHONWARNINGS", "").startswith(("default", "always")):
        return
    import rasa.utils.common
    import sanic  # noqa: F401

    _our_filters()
    rasa_filters = rasa.utils.common._filter_warnings

    def rasa_then_ours(*args: object, **kwargs: object) -> None:
        rasa_filters(*args, **kwargs)
        _our_filters()

    rasa.utils.common._filter_warnings = rasa_then_ours


def main() -> None:
    quiet_warnings()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
