"""What a provider plugin hands to the core: one object per ``provider/model`` endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from wan26core._contract import Contract
from wan26core._protocol import ClientProtocol, ContractClientProtocol
from wan26core._rules.render import WireRequest, render_body
from wan26core._rules.request import GenerationRequest

if TYPE_CHECKING:
    from wan26core._dialect import Dialect

__all__ = ["ContractProvider", "Provider"]


@runtime_checkable
class Provider(Protocol):
    """A provider endpoint, addressed as ``provider/model`` (``fal/r2v-flash``)."""

    @property
    def id(self) -> str: ...

    @property
    def contract(self) -> Contract: ...

    @property
    def protocol(self) -> ClientProtocol:
        """The client side of the wire protocol (sans-IO), which the runtime drives to run jobs."""
        ...

    @property
    def dialect(self) -> Dialect | None:
        """The server side of the wire protocol, for the mock; None for a provider the mock does not serve."""
        ...

    def render(self, request: GenerationRequest, *, probe: bool = False) -> WireRequest:
        """Validate ``request`` and return the exact wire request; raises ``ValidationError``."""
        ...


class ContractProvider:
    """A provider whose wire format follows its contract's field map; subclass to handle quirks."""

    def __init__(self, contract: Contract, *, dialect: Dialect | None = None, protocol: ClientProtocol | None = None) -> None:
        self._contract = contract
        #: the server-side wire protocol, for the mock
        self.dialect: Dialect | None = dialect
        #: the client-side wire protocol (sans-IO) the runtime uses to run jobs
        self.protocol: ClientProtocol = protocol or ContractClientProtocol(contract)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"

    @property
    def id(self) -> str:
        return self._contract.id

    @property
    def contract(self) -> Contract:
        return self._contract

    def render(self, request: GenerationRequest, *, probe: bool = False) -> WireRequest:
        return render_body(request, self._contract, probe=probe)
