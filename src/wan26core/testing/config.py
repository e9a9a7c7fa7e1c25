"""How the pytest plugin's mocks are set up: :class:`MockConfig`, read from the command line and the ini file.

Stdlib only: the plugin module imports it in every pytest run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from wan26core._plugins import Registry

__all__ = ["INI_OPTIONS", "MockConfig", "config_from"]

Profile = Literal["fast", "realistic"]
_PROFILES = ("fast", "realistic")

#: ini name -> (help, type, default) as ``parser.addini`` takes them
INI_OPTIONS: dict[str, tuple[str, Literal["string", "bool"], Any]] = {
    "wan26_mock_tls": (
        "wan26 mock: serve wan26_mock_server over HTTPS from a local CA: auto (default: when an official client that speaks"
        " only https is installed), true or false",
        "string",
        "auto",
    ),
    "wan26_mock_seed": ("wan26 mock: seed for reproducible ids, timings and outputs (default: random)", "string", ""),
    "wan26_mock_profile": ("wan26 mock: job timing, 'fast' (about a second a job) or 'realistic'", "string", "fast"),
    "wan26_mock_time_scale": ("wan26 mock: run the mock's virtual clock this many times faster (default 1)", "string", "1"),
}


@dataclass(frozen=True)
class MockConfig:
    """What the mocks of ``wan26_mock_server`` and ``wan26_routes`` are made of.

    ``registry``: the providers served (None: every installed plugin, as ``WAN26_LOAD_PLUGINS`` allows);
    ``tls``: HTTPS for the live server (the in-process routes ignore it).
    """

    registry: Registry | None = None
    seed: int | None = None
    profile: Profile = "fast"
    time_scale: float = 1.0
    tls: bool = False

    def __post_init__(self) -> None:
        if self.profile not in _PROFILES:
            raise ValueError(f"profile: {self.profile!r} is not one of {list(_PROFILES)}")
        if not self.time_scale > 0:
            raise ValueError(f"time_scale: must be a positive number, not {self.time_scale!r}")

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for ``wan26_mock.engine.Engine``."""
        return {"seed": self.seed, "profile": self.profile, "time_scale": self.time_scale}


def config_from(ini: Any, tls_option: bool) -> MockConfig:
    """A :class:`MockConfig` from ``ini(name)`` (pytest's ``config.getini``) and the ``--wan26-mock-tls`` flag."""
    seed_text = str(ini("wan26_mock_seed")).strip()
    scale_text = str(ini("wan26_mock_time_scale")).strip()
    try:
        seed = int(seed_text) if seed_text else None
    except ValueError:
        raise ValueError(f"wan26_mock_seed: {seed_text!r} is not an integer") from None
    try:
        time_scale = float(scale_text) if scale_text else 1.0
    except ValueError:
        raise ValueError(f"wan26_mock_time_scale: {scale_text!r} is not a number") from None
    profile = str(ini("wan26_mock_profile")).strip() or "fast"
    if profile not in _PROFILES:
        raise ValueError(f"wan26_mock_profile: {profile!r} is not one of {list(_PROFILES)}")
    return MockConfig(
        seed=seed,
        profile="fast" if profile == "fast" else "realistic",
        time_scale=time_scale,
        tls=tls_option or _tls_setting(ini("wan26_mock_tls")),
    )


def _tls_setting(value: Any) -> bool:
    """``wan26_mock_tls``: true, false, or auto (HTTPS when an official client that cannot speak plain http is
    installed, see :func:`https_only_client_installed`)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "auto"):
        return https_only_client_installed()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"wan26_mock_tls: {value!r} is not one of auto, true, false")


def https_only_client_installed() -> bool:
    """Whether an official client that speaks only https is importable here (looked up, not imported): the installed
    plugins' dialects name theirs (``https_only_clients``, import names)."""
    import importlib.util

    from wan26core._plugins import default_registry

    names = {name for p in default_registry().providers().values() for name in getattr(p.dialect, "https_only_clients", ())}
    return any(importlib.util.find_spec(name) is not None for name in sorted(names))
