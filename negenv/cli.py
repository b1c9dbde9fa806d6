"""What the command lines do with a user's mistake: one line on stderr, a non-zero exit.

A bad argument, field, file or checkpoint raises ``ValueError`` (the negenv errors subclass
it), ``FileNotFoundError`` or ``FileExistsError`` with a message that names the field, the
value and what is allowed; :func:`run` prints that message alone (``error: ...``) and exits
with status 2. ``NEGENV_TRACEBACK=1`` shows the full traceback instead. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError)


def run(main: Callable[..., Any], *args: Any, prog: str | None = None) -> Any:
    """Call ``main(*args)``, turning a user error into one line and exit status 2."""
    try:
        return main(*args)
    except USER_ERRORS as err:
        if os.environ.get("NEGENV_TRACEBACK"):
            raise
        name = prog or (os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "negenv")
        print(f"{name}: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
