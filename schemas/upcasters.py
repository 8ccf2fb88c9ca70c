"""The upcasters of q2c's own subjects (see :mod:`schemas.upcasting`).

Nothing needs upcasting yet: every subject is at version 1 but ``dead_letter``, whose v2
only added optional fields (v1 letters read as they are). When a model
changes in a way readers of the new version cannot read as-is (a renamed field, a new
required field whose value can be derived), register the step here, with a test beside the
subject's other tests.
"""

from __future__ import annotations

from schemas.upcasting import UpcasterRegistry

UPCASTERS = UpcasterRegistry()
