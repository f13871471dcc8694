"""The batch match plan, second half: join the canonical values against the index (DuckDB).

The values come as Arrow tables from :mod:`indicia.matching.batch_values` (``v_ip``,
``v_suffix``, ``v_url``, ``v_email``, ``v_hash``). One join per way of matching (DESIGN.md,
"Matching"): exact IPv4; CIDR by /16 bucket then a range check (IPv6: /32 bucket); blocks too
wide to bucket by range alone; a domain and each of its parent domains whose label count some
indicator has; URL, e-mail and hash equality. Then the indicator's validity at the event's
time, the confidence floor and the port, and the order: per value, the most specific indicator
first (exact address, longest prefix, deepest domain).
"""

from __future__ import annotations

from collections.abc import Sequence

from indicia.matching.batch_index import IPV4_BUCKET_BITS
from indicia.matching.batch_plan import FIELD_ID, quote
from indicia.matching.fields import DEFAULT_PORT_FIELD, PORT_FIELDS

# Per value table: the column the indicator's value is taken from when a query leaves it null
# (an exact match reports the value itself; a parent domain reports the suffix).
VALUE_COLUMNS = {
    "v_ip": "canon",
    "v_suffix": "suffix",
    "v_url": "canon",
    "v_email": "canon",
    "v_hash": "canon",
}


def candidates_sql() -> dict[str, str]:
    """Per value table, a query of (pos, entry, indicator_value, specificity) for its matches.

    ``pos`` is the value's position in its table: the value's row, field and text are taken
    from there by position, so the joins carry numbers rather than strings.
    """
    bucket = 32 - IPV4_BUCKET_BITS
    return {
        "v_ip": f"""
            WITH ips AS MATERIALIZED (
                SELECT pos, ip4 FROM v_ip WHERE ip4 IS NOT NULL
            ),
            ip6s AS (SELECT pos, ip6, ip6b FROM v_ip WHERE ip6 IS NOT NULL)
            SELECT p.pos, x.entry, NULL::VARCHAR AS indicator_value, 32 AS specificity
            FROM ips p JOIN ipv4_exact x ON x.value = p.ip4
            UNION ALL
            SELECT p.pos, c.entry, c.text, c.prefix
            FROM ips p JOIN ipv4_cidr c
                 ON c.bucket = (p.ip4 >> {bucket}) AND p.ip4 BETWEEN c.first AND c.last
            UNION ALL
            SELECT p.pos, w.entry, w.text, w.prefix
            FROM ips p JOIN ipv4_wide w ON p.ip4 BETWEEN w.first AND w.last
            UNION ALL
            SELECT p.pos, x.entry, x.text, 128
            FROM ip6s p JOIN ipv6_exact x ON x.value = p.ip6
            UNION ALL
            SELECT p.pos, c.entry, c.text, c.prefix
            FROM ip6s p JOIN ipv6_cidr c ON c.bucket = p.ip6b AND p.ip6 BETWEEN c.first AND c.last
            UNION ALL
            SELECT p.pos, w.entry, w.text, w.prefix
            FROM ip6s p JOIN ipv6_wide w ON p.ip6 BETWEEN w.first AND w.last
        """,
        "v_suffix": """
            SELECT p.pos, d.entry, NULL::VARCHAR AS indicator_value, p.k AS specificity
            FROM v_suffix p JOIN domains d ON d.value = p.suffix
        """,
        "v_url": """
            SELECT p.pos, u.entry, NULL::VARCHAR AS indicator_value, 0 AS specificity
            FROM v_url p JOIN urls u ON u.value = p.canon
        """,
        "v_email": """
            SELECT p.pos, e.entry, e.value AS indicator_value, 0 AS specificity
            FROM v_email p JOIN emails e ON e.key = p.canon
        """,
        "v_hash": """
            SELECT p.pos, h.entry, NULL::VARCHAR AS indicator_value, 0 AS specificity
            FROM v_hash p JOIN hashes h ON h.kind = p.code AND h.value = unhex(p.canon)
        """,
    }


# The event times the engine reads: ISO 8601 / RFC 3339 date-times of years 0001-9999 with an
# hour under 24 and an offset under a day. DuckDB's own cast reads much more ("1 2 3" as year
# 1, "epoch", +25:00, year 21024), and such a time would put an event outside every
# indicator's validity, dropping its match; a time outside this shape counts as none, as the
# log readers count what fromisoformat refuses.
EVENT_TIME_SHAPE = (
    r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2}"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$"
)
# The common shape (UTC, "Z") is told by LIKE, which costs a third of the regular expression;
# DuckDB's cast then checks the digits' ranges.
_EVENT_US = (
    "CASE WHEN ts LIKE '____-__-__T__:__:__%Z' AND ts NOT LIKE '0000%' "
    f"OR regexp_full_match(ts, '{EVENT_TIME_SHAPE}') "
    "THEN epoch_us(TRY_CAST(ts AS TIMESTAMPTZ)) END"
)


def match_sql(
    min_confidence: int, now_us: int, ports: Sequence[str] = (), *, repeats: bool = True
) -> str:
    """The ``joined`` candidates kept by validity, confidence and port, in order: (i, event_us).

    ``joined`` holds each candidate (``i`` its position) with its entry's columns and its
    event's time (text) and ports: most values match nothing, so only the candidates' times
    are ever parsed. The order is, per event and field, the most specific indicator first.
    Only positions and times come back: the caller gathers the columns in that order, which
    was measured at half the cost of sorting the wide rows here.
    """
    when = f"coalesce(event_us, {now_us})"
    # Duplicates (a value under both spellings of a field, or twice in a list) are dropped
    # (any one of them: they are alike in every column). Without ``repeats`` the input holds
    # one value per event and field, so no candidate can repeat and the DISTINCT is left out.
    distinct = "DISTINCT ON (row, fid, matched_value, entry)" if repeats else ""
    return f"""
        WITH kept AS (
            SELECT {distinct} i, row, fid, matched_value, specificity, entry, event_us
            FROM (
                SELECT *, {_EVENT_US} AS event_us,
                       {_port_sql(ports)} AS event_port
                FROM joined
            )
            WHERE valid_from <= {when} AND (valid_until IS NULL OR {when} < valid_until)
              AND ({min_confidence} = 0 OR confidence >= {min_confidence})
              AND (entry_port IS NULL OR entry_port = event_port)
        )
        SELECT i, event_us FROM kept
        ORDER BY row, fid, matched_value, specificity DESC, entry
    """


# The identifier of each picked entry, in the order of ``k``: the type prefix and UUID as
# text, or the identifier as stored when it is not of that form.
IDS_SQL = """
    SELECT coalesce(o.indicator_id, t.prefix || '--' || CAST(n.id_uuid AS VARCHAR))
        AS indicator_id
    FROM picked n
    LEFT JOIN id_types t ON t.id_type = n.id_type
    LEFT JOIN odd_ids o ON o.entry = n.entry
    ORDER BY n.k
"""


def _port_sql(ports: Sequence[str]) -> str:
    """The port a candidate's entry port is checked against, by the candidate's field."""
    default = quote(DEFAULT_PORT_FIELD) if DEFAULT_PORT_FIELD in ports else "NULL"
    cases = [
        f"WHEN {FIELD_ID[field]} THEN {quote(port)}"
        for field, port in sorted(PORT_FIELDS.items())
        if port in ports
    ]
    if not cases:
        return f"CAST({default} AS INTEGER)"
    return f"CAST(CASE fid {' '.join(cases)} ELSE {default} END AS INTEGER)"
