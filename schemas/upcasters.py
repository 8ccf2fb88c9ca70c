"""The upcasters of q2c's own subjects (see :mod:`schemas.upcasting`).

Every subject is at version 1 so far, so there is nothing to upcast yet. When a model
changes in a way readers of the new version cannot read as-is (a renamed field, a new
required field whose value can be derived), register the step here, with a test beside the
subject's other tests.
"""

from __future__ import annotations

from schemas.upcasting import UpcasterRegistry

UPCASTERS = UpcasterRegistry()
