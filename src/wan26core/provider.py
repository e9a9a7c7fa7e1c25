"""What a provider plugin hands to the core: one object per ``provider/model`` endpoint."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .contract import Contract
from .protocol import ClientProtocol, ContractClientProtocol
from .render import WireRequest, render_body
from .request import GenerationRequest

__all__ = ["ContractProvider", "Provider"]


@runtime_checkable
class Provider(Protocol):
    """A provider endpoint, addressed as ``provider/model`` (``fal/r2v-flash``)."""

    @property
    def id(self) -> str: ...

    @property
    def contract(self) -> Contract: ...

    def render(self, request: GenerationRequest, *, probe: bool = False) -> WireRequest:
        """Validate ``request`` and return the exact wire request; raises ``ValidationError``."""
        ...


class ContractProvider:
    """A provider whose wire format follows its contract's field map; subclass to handle quirks."""

    def __init__(self, contract: Contract, *, dialect: Any = None, protocol: ClientProtocol | None = None) -> None:
        self._contract = contract
        self.dialect = dialect  # the server-side wire protocol (wan26core.dialect.Dialect), for the mock
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
