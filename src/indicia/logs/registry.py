"""The log formats Indicia knows, by name, and how to tell which one an input is.

The registry is data: :data:`MODULES` lists the format modules of ``indicia.logs`` in sniffing
order, most specific first. Each module is imported on first use, so a module another engineer
has not landed yet only makes its own name unavailable, never the whole registry.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator, Mapping
from types import ModuleType

from indicia.errors import InputError
from indicia.logs.base import LogFormat

log = logging.getLogger(__name__)

# Sniffing order: a format whose lines are a special case of another's comes first (CSV exports
# with a known header before CEF, CEF before plain syslog, vendor JSON before generic ECS JSON).
MODULES: tuple[str, ...] = (
    "commonsecuritylog",
    "umbrella",
    "windows_dns",
    "suricata",
    "zeek",
    "azure_firewall",
    "azure_waf",
    "o365",
    "cef",
    "generic",
    "syslog",
)


def _import(module_name: str) -> ModuleType | None:
    """Import ``indicia.logs.<module_name>``, or None when that module does not exist yet."""
    qualified = f"indicia.logs.{module_name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        # Only the module itself being absent is tolerated; a broken import inside it is a bug.
        if exc.name != qualified:
            raise
        log.debug("log format module %s is not available", qualified)
        return None


def _module_formats(module: ModuleType) -> tuple[LogFormat, ...]:
    """The formats a module declares: its ``FORMAT`` plus any ``EXTRA_FORMATS``."""
    formats: list[LogFormat] = [module.FORMAT]
    formats.extend(getattr(module, "EXTRA_FORMATS", ()))
    return tuple(formats)


class _Formats(Mapping[str, LogFormat]):
    """Format name to :class:`LogFormat`, loading every available module on first use."""

    def __init__(self) -> None:
        self._loaded: dict[str, LogFormat] | None = None
        self._aliases: dict[str, str] = {}

    def _load(self) -> dict[str, LogFormat]:
        if self._loaded is None:
            loaded: dict[str, LogFormat] = {}
            for module_name in MODULES:
                module = _import(module_name)
                if module is None:
                    continue
                for fmt in _module_formats(module):
                    loaded[fmt.name] = fmt
                self._aliases[module_name] = module.FORMAT.name
            self._loaded = loaded
        return self._loaded

    def resolve(self, name: str) -> str:
        """The format name for ``name``, which may also be a module name or use ``_`` for ``-``."""
        loaded = self._load()
        for candidate in (name, name.replace("_", "-"), name.replace("-", "_")):
            if candidate in loaded:
                return candidate
            if candidate in self._aliases:
                return self._aliases[candidate]
        return name

    def __getitem__(self, name: str) -> LogFormat:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


FORMATS: Mapping[str, LogFormat] = _Formats()


def get_format(name: str) -> LogFormat:
    """The format registered as ``name``; an :class:`InputError` lists the known names otherwise."""
    resolved = FORMATS.resolve(name) if isinstance(FORMATS, _Formats) else name
    try:
        return FORMATS[resolved]
    except KeyError:
        # "generic" is not registered: it is built from a mapping file (--mapping).
        known = ", ".join(sorted([*FORMATS, "generic (with --mapping)"]))
        raise InputError("log format", f"unknown format {name!r}; known: {known}") from None


def sniff_format(sample_lines: list[str], path: str = "-") -> LogFormat:
    """The first format, in registry order, that recognises these first lines of ``path``."""
    sample = [line for line in sample_lines if line.strip()]
    if not sample:
        raise InputError(path, "empty input: no line to tell the log format from")

    for fmt in FORMATS.values():
        if _sniffs(fmt, sample):
            return fmt

    known = ", ".join(sorted(FORMATS))
    raise InputError(path, f"no known log format fits the first lines of the file (tried: {known})")


def _sniffs(fmt: LogFormat, sample: list[str]) -> bool:
    """Whether ``fmt`` claims the sample; a sniffer that fails counts as a no."""
    try:
        return fmt.sniff(sample)
    except Exception:  # a sniffer must never break detection for the other formats
        log.warning("sniffer of log format %s failed", fmt.name, exc_info=True)
        return False
