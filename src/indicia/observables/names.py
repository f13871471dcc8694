"""Canonical domain names (IDNA A-labels) and e-mail addresses.

A domain is lower case, without the trailing dot, with internationalised labels as IDNA
A-labels after UTS 46 mapping (so ``Bücher.example``, ``BÜCHER.example`` and
``xn--bcher-kva.example`` are one value, while a Cyrillic look-alike stays different).
Underscores are allowed in labels other than the TLD: real DNS carries names such as
``_dmarc.example.org`` and ``a_b.example.net``, though host names (RFC 952) may not.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

import idna

from indicia.errors import ObservableError

# RFC 1035 2.3.4 limits; RFC 3696 2: a TLD is not all-numeric (else 1.2.3.4 would be a name).
_MAX_NAME = 253
_LDH_LABEL = r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)"
# Fast path: lower-case LDH labels and a TLD that is not all digits.
_FAST_DOMAIN_RE = re.compile(
    rf"(?:{_LDH_LABEL}\.)+(?![0-9]+\Z)[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?", re.ASCII
)
_LABEL_RE = re.compile(_LDH_LABEL, re.ASCII)
_TLD_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_DIGITS_RE = re.compile(r"[0-9]+", re.ASCII)

# RFC 5322 3.2.3 atext (plus '.', checked separately); RFC 6531 3.3 allows UTF-8 beyond ASCII.
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff.-]+")
_MAX_LOCAL = 64

# Reserved names that reports and test data use (RFC 2606 example/test, RFC 7686 onion).
_RESERVED_TLDS = frozenset({"example", "test", "onion"})


def normalize_domain(raw: str) -> str:
    """Return the canonical domain name: lower case, no trailing dot, IDNA A-labels."""
    value = raw.strip()
    if value.endswith("."):
        value = value[:-1]

    lowered = value.lower()
    if len(lowered) <= _MAX_NAME and _FAST_DOMAIN_RE.fullmatch(lowered) and "xn--" not in lowered:
        return lowered
    return _normalize_slow(raw, value)


def is_canonical_domain(value: str) -> bool:
    """Whether the value is already a canonical LDH domain name (the common fast case)."""
    return (
        len(value) <= _MAX_NAME
        and _FAST_DOMAIN_RE.fullmatch(value) is not None
        and "xn--" not in value
    )


def normalize_email(raw: str) -> str:
    """Return ``local@domain`` with the local part as written and the domain canonical."""
    value = raw.strip()
    if "<" in value or ">" in value or " " in value or "\t" in value:
        raise ObservableError(raw, "an e-mail address must not include a display name or spaces")
    local, at, domain = value.rpartition("@")
    if not at or not local:
        raise ObservableError(raw, "an e-mail address needs a local part, '@' and a domain")

    _check_local_part(raw, local)
    try:
        canonical_domain = normalize_domain(domain)
    except ObservableError as exc:
        raise ObservableError(raw, f"the e-mail domain is not valid: {exc.rule}") from None
    return f"{local}@{canonical_domain}"


def is_known_tld(label: str) -> bool:
    """Whether an A-label (lower case) is a TLD known to IANA or a reserved test name."""
    return label in _known_tlds() or label in _RESERVED_TLDS


@functools.cache
def _known_tlds() -> frozenset[str]:
    text = resources.files("indicia.observables").joinpath("tlds.txt").read_text("utf-8")
    return frozenset(line for line in text.split() if line and not line.startswith("#"))


def _check_local_part(raw: str, local: str) -> None:
    # RFC 5321 4.5.3.1.1: at most 64 octets; RFC 5322 3.4.1: a dot-atom has no empty atom.
    if len(local.encode("utf-8")) > _MAX_LOCAL:
        raise ObservableError(raw, "an e-mail local part is at most 64 octets")
    if not _LOCAL_RE.fullmatch(local) or ".." in local or local[0] == "." or local[-1] == ".":
        raise ObservableError(raw, "the e-mail local part has characters a mailbox cannot have")


def _check_shape(raw: str, name: str) -> None:
    if len(name) > _MAX_NAME:
        raise ObservableError(raw, "a domain name is at most 253 characters")
    tld = name.rpartition(".")[2]
    if _DIGITS_RE.fullmatch(tld):
        raise ObservableError(raw, "a domain's top-level label cannot be all digits")


@functools.lru_cache(maxsize=4096)
def _normalize_slow(raw: str, value: str) -> str:
    # UTS 46 section 4 mapping (case folding, full-width dots) before IDNA 2008 encoding.
    try:
        mapped = idna.uts46_remap(value, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise ObservableError(raw, f"not a valid internationalised domain name: {exc}") from None

    labels = mapped.split(".")
    if len(labels) < 2:
        raise ObservableError(raw, "a domain name needs at least two labels (name.tld)")
    name = ".".join(_a_label(raw, label) for label in labels)
    if not _TLD_RE.fullmatch(name.rpartition(".")[2]):
        raise ObservableError(raw, "a domain's top-level label must be letters, digits or '-'")
    _check_shape(raw, name)
    return name


def _a_label(raw: str, label: str) -> str:
    if not label:
        raise ObservableError(raw, "a domain name has no empty labels (no '..')")
    if len(label) > 63:
        raise ObservableError(raw, "a domain label is at most 63 characters")
    if label.isascii() and not label.startswith("xn--"):
        if not _LABEL_RE.fullmatch(label):
            raise ObservableError(raw, f"the label {label!r} is not letters, digits, '-' or '_'")
        return label
    return _idna_label(raw, label)


def _idna_label(raw: str, label: str) -> str:
    # RFC 5891 5.4: an A-label must decode to a valid U-label that encodes back to itself.
    try:
        if label.isascii():
            encoded = idna.alabel(idna.ulabel(label)).decode("ascii")
            if encoded != label:
                raise ObservableError(raw, f"the A-label {label!r} is not in canonical form")
            return label
        encoded = idna.alabel(label).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise ObservableError(
            raw, f"the label {label!r} is not a valid IDNA label: {exc}"
        ) from None
    if len(encoded) > 63:
        raise ObservableError(raw, "a domain label is at most 63 characters")
    return encoded
