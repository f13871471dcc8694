"""The batch match plan, second half: join the stacked values against the index.

One join per way of matching (DESIGN.md, "Matching"): exact IPv4; CIDR by /16 bucket then a
range check (IPv6: /32 bucket); blocks too wide to bucket by range alone; a domain and each of
its parent domains whose label count some indicator has; URL, e-mail and hash equality. Then
the indicator's validity at the event's time, the confidence floor and the port, and the order:
per value, the most specific indicator first (exact address, longest prefix, deepest domain).
"""

from __future__ import annotations

from collections.abc import Iterable

from indicia.matching.batch_index import IPV4_BUCKET_BITS, KIND_CODE, KINDS
from indicia.matching.batch_plan import FAM, FIELD_NAMES, literal
from indicia.matching.fields import HASH_KINDS


def match_sql(labels: Iterable[int], min_confidence: int, now_us: int) -> str:
    """Every match of the ``stack`` table against the index tables, filtered and ordered."""
    fields = " ".join(f"WHEN {n} THEN {literal(name)}" for n, name in enumerate(FIELD_NAMES))
    kinds = " ".join(f"WHEN {code} THEN '{kind}'" for code, kind in enumerate(KINDS))
    when = f"coalesce(c.ts, {now_us})"
    # Duplicates (a value under both spellings of a field, or twice in a list) are dropped on
    # numbers before the texts are built.
    return f"""
        WITH candidates AS ({_candidates_sql(tuple(labels))}),
        kept AS (
            SELECT DISTINCT ON (c.row, c.fid, c.matched_value, c.entry)
                   c.*, n.kind, n.id_type, n.id_uuid
            FROM candidates c JOIN entries n ON n.entry = c.entry
            WHERE n.valid_from <= {when} AND (n.valid_until IS NULL OR {when} < n.valid_until)
              AND ({min_confidence} = 0 OR n.confidence >= {min_confidence})
              AND (n.port IS NULL OR n.port = c.port)
        )
        SELECT n.row, CASE n.fid {fields} END AS field, CASE n.kind {kinds} END AS kind,
               n.matched_value, {_indicator_id()} AS indicator_id, n.indicator_value,
               n.specificity, make_timestamptz(n.ts) AS event_time
        FROM kept n
        LEFT JOIN id_types t ON t.id_type = n.id_type
        LEFT JOIN odd_ids o ON o.entry = n.entry
        ORDER BY n.row, n.fid, n.matched_value, n.specificity DESC, n.entry
    """


def _candidates_sql(labels: tuple[int, ...]) -> str:
    hashes = ", ".join(f"({FAM[kind]}, {KIND_CODE[kind]})" for kind in HASH_KINDS)
    head = "SELECT p.row, p.ts, p.fid, p.port, p.canon"
    bucket = 32 - IPV4_BUCKET_BITS
    return f"""
        {head} AS matched_value, x.entry, p.canon AS indicator_value, 32 AS specificity
        FROM stack p JOIN ipv4_exact x ON x.value = p.ip4
        UNION ALL
        {head}, c.entry, {_ipv4_text("c.first")} || '/' || c.prefix, c.prefix
        FROM stack p JOIN ipv4_cidr c
             ON c.bucket = (p.ip4 >> {bucket}) AND p.ip4 BETWEEN c.first AND c.last
        UNION ALL
        {head}, w.entry, {_ipv4_text("w.first")} || '/' || w.prefix, w.prefix
        FROM stack p JOIN ipv4_wide w ON p.ip4 BETWEEN w.first AND w.last
        UNION ALL
        {head}, x.entry, x.text, 128
        FROM stack p JOIN ipv6_exact x ON x.value = p.ip6
        UNION ALL
        {head}, c.entry, c.text, c.prefix
        FROM stack p JOIN ipv6_cidr c ON c.bucket = p.ip6b AND p.ip6 BETWEEN c.first AND c.last
        UNION ALL
        {head}, w.entry, w.text, w.prefix
        FROM stack p JOIN ipv6_wide w ON p.ip6 BETWEEN w.first AND w.last
        UNION ALL
        {head}, d.entry, p.suffix, p.k
        FROM ({_suffixes_sql(labels)}) p JOIN domains d ON d.value = p.suffix
        UNION ALL
        {head}, u.entry, u.value, 0
        FROM stack p JOIN urls u ON u.value = p.canon AND p.fam = {FAM["url"]}
        UNION ALL
        {head}, e.entry, e.value, 0
        FROM stack p JOIN emails e ON e.key = p.canon AND p.fam = {FAM["email"]}
        UNION ALL
        {head}, h.entry, p.canon, 0
        FROM (SELECT p.*, k.code, unhex(p.canon) AS digest FROM stack p
              JOIN (VALUES {hashes}) AS k(fam, code) ON k.fam = p.fam) p
        JOIN hashes h ON h.kind = p.code AND h.value = p.digest
    """


def _suffixes_sql(labels: tuple[int, ...]) -> str:
    # A domain indicator matches itself and every subdomain: probe each parent domain whose label
    # count some domain indicator has (label boundary, so notevil.com never meets evil.com).
    counts = "[" + ", ".join(map(str, labels)) + "]" if labels else "[]::INTEGER[]"
    names = (
        f"(fam = {FAM['domain']} OR (fam = {FAM['uhost']} AND ip4 IS NULL AND ip6 IS NULL)) "
        "AND canon IS NOT NULL"
    )
    return f"""
        SELECT *, array_to_string(list_slice(parts, len(parts) - k + 1, len(parts)), '.') AS suffix
        FROM (
            SELECT *, unnest(list_filter({counts}, lambda n: n <= len(parts))) AS k
            FROM (SELECT *, string_split(canon, '.') AS parts FROM stack WHERE {names})
        )
    """


def _ipv4_text(name: str) -> str:
    return " || '.' || ".join(f"CAST(({name} >> {24 - 8 * i}) & 255 AS VARCHAR)" for i in range(4))


def _indicator_id() -> str:
    hexed = "lower(hex(n.id_uuid))"
    pieces = " || '-' || ".join(
        f"substr({hexed}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )
    return f"coalesce(o.indicator_id, t.prefix || '--' || {pieces})"
