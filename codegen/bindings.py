"""What each protocol binding of the platform can carry: message names, who sends them, what they answer.

The generator and `sgam run` decide from these tables which steps of a use case the platform can
play. The names are those the runtime (`sgam.platform.openadr`, `sgam.platform.iec61850`) puts on
the wire: OpenADR 2.0b payload names (oadr_20b.xsd) and the ACSI service names of IEC 61850-7-2
as the runtime's 8-2 style XML spells them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Catalog ids (standards_catalog/) that put an actor on the platform and choose its binding.
XMPP = "IETF RFC 6120"
OPENADR = "IEC 62746-10-1"
IEC61850 = "IEC 61850-8-2"
BINDINGS = {OPENADR: "openadr", IEC61850: "iec61850"}

# Roles on each binding: the first is the end that serves pushes (VTN) or requests (server).
ROLES = {"openadr": ("vtn", "ven"), "iec61850": ("server", "client")}


@dataclass(frozen=True)
class Message:
    name: str
    sender: str  # role
    answers: str | None = None  # the request this message answers; None for a request or a push


def _openadr() -> dict[str, Message]:
    # The runtime's VTN and VEN (sgam.platform.openadr): requests each side sends, and the answers
    # that come back in the IQ result. The VTN sends oadrResponse only to refuse a payload.
    requests = {
        "ven": ("oadrQueryRegistration", "oadrCreatePartyRegistration", "oadrRegisterReport", "oadrUpdateReport",
                "oadrCreateOpt", "oadrCancelOpt"),
        "vtn": ("oadrDistributeEvent", "oadrCreateReport", "oadrCancelReport", "oadrCancelPartyRegistration"),
    }
    answers = {
        "oadrCreatedPartyRegistration": ("vtn", "oadrCreatePartyRegistration"),
        "oadrRegisteredReport": ("vtn", "oadrRegisterReport"),
        "oadrUpdatedReport": ("vtn", "oadrUpdateReport"),
        "oadrCreatedOpt": ("vtn", "oadrCreateOpt"),
        "oadrCanceledOpt": ("vtn", "oadrCancelOpt"),
        "oadrCreatedEvent": ("ven", "oadrDistributeEvent"),
        "oadrCreatedReport": ("ven", "oadrCreateReport"),
        "oadrCanceledReport": ("ven", "oadrCancelReport"),
        "oadrCanceledPartyRegistration": ("ven", "oadrCancelPartyRegistration"),
    }
    table = {name: Message(name, role) for role, names in requests.items() for name in names}
    table.update({name: Message(name, role, request) for name, (role, request) in answers.items()})
    return table


ACSI_REQUESTS = ("GetServerDirectory", "GetLogicalDeviceDirectory", "GetLogicalNodeDirectory", "GetDataValues",
                 "SetDataValues", "Select", "SelectWithValue", "Operate", "Cancel", "GetDataSetDirectory",
                 "GetURCBValues", "SetURCBValues")


def _acsi() -> dict[str, Message]:
    table = {name: Message(name, "client") for name in ACSI_REQUESTS}
    table.update({f"{name}Response": Message(f"{name}Response", "server", name) for name in ACSI_REQUESTS})
    table.update({name: Message(name, "server") for name in ("Report", "CommandTermination")})
    return table


MESSAGES = {"openadr": _openadr(), "iec61850": _acsi()}

# ACSI services named in an information object's data models (details of IEC 61850-7-2, -6 ...), by keyword.
ACSI_KEYWORDS = {
    "directory": ("GetServerDirectory", "GetLogicalDeviceDirectory", "GetLogicalNodeDirectory"),
    "scl": ("GetServerDirectory", "GetLogicalDeviceDirectory", "GetLogicalNodeDirectory"),
    "brcb": ("SetURCBValues",),
    "urcb": ("SetURCBValues",),
    "setbrcbvalues": ("SetURCBValues",),
    "seturcbvalues": ("SetURCBValues",),
    "report": ("Report",),
    "operate": ("Select", "SelectWithValue", "Operate"),
}

OBJECT_SERVICES = {"operate", "report"}  # keywords that need a data object to act on


def as_sent_by(binding: str, names: tuple[str, ...], role: str) -> tuple[str, ...]:
    """The messages among `names` that `role` sends on the binding; a server's requests become its answers."""
    table = MESSAGES[binding]
    found = []
    for name in names:
        message = table.get(name)
        if message is None:
            continue
        if message.sender == role:
            found.append(name)
        elif binding == "iec61850" and role == "server" and f"{name}Response" in table:
            found.append(f"{name}Response")
    return tuple(dict.fromkeys(found))
