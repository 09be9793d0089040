"""Why a lab could not be built, checked or taken down."""

from __future__ import annotations

from gigalis_nms.errors import GigalisError


class LabError(GigalisError):
    code = "lab"


class LabUnavailable(LabError):
    """This machine cannot run the lab: not root, or a package is missing. ``problems``
    names each missing piece."""

    code = "lab_unavailable"


class LabCommandFailed(LabError):
    """A system command of the build failed; the message names the command and its error."""

    code = "lab_command_failed"


class LabNotConverged(LabError):
    """The lab is built but some IS-IS adjacencies did not come up in time."""

    code = "lab_not_converged"
