"""The masking rules of ``customers.masking`` as one SQL expression, so raw
values are masked inside the import statement and never written anywhere
lasting. A value that already contains the mask dot is kept as it is."""

from __future__ import annotations

DOT = "\u2022"

_RULES = {
    "email": (
        "CASE WHEN strpos({v}, '@') > 1 AND substr({v}, strpos({v}, '@') + 1) <> '' "
        "THEN left({v}, 1) || '•••@' || lower(substr({v}, strpos({v}, '@') + 1)) "
        "ELSE '•••' END"
    ),
    "phone": (
        "CASE WHEN length(regexp_replace({v}, '\\D', '', 'g')) < 6 THEN '•••• •••' "
        "ELSE '•••• ••• ' || right(regexp_replace({v}, '\\D', '', 'g'), 3) END"
    ),
    "date_of_birth": ("'••/••/' || coalesce(substring({v} from '((?:19|20)[0-9]{{2}})'), '••••')"),
    "name": (
        "CASE WHEN trim({v}) = '' THEN '•••' ELSE "
        "regexp_replace(regexp_replace(trim({v}), '\\s+', ' ', 'g'), '(\\S)\\S*', '\\1•••', 'g') END"
    ),
    "address": (
        "CASE WHEN strpos(regexp_replace({v}, '^[,\\s]+|[,\\s]+$', '', 'g'), ',') = 0 THEN '•••' "
        "ELSE '•••, ' || trim(regexp_replace(regexp_replace({v}, '^[,\\s]+|[,\\s]+$', '', 'g'), "
        "'^.*,', '')) END"
    ),
    "password_hash": "'••••••••'",
}
_TAIL = (
    "CASE WHEN length(regexp_replace({v}, '[\\s-]', '', 'g')) <= 6 THEN '••••' "
    "ELSE '•••• ' || right(regexp_replace({v}, '[\\s-]', '', 'g'), 4) END"
)


def mask_sql(code: str, value: str) -> str:
    """SQL masking ``value`` (an expression) by the rule of data class ``code``
    (an expression too)."""
    value = f"trim({value})"
    whens = " ".join(
        f"WHEN {code} = '{name}' THEN {rule.format(v=value)}" for name, rule in _RULES.items()
    )
    return (
        f"CASE WHEN strpos({value}, '{DOT}') > 0 THEN {value} "
        f"{whens} ELSE {_TAIL.format(v=value)} END"
    )
