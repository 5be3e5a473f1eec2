"""The masking rules of ``customers.masking`` as one SQL expression, so raw
values are masked inside the import statement and never written anywhere
lasting. A value that already contains the mask dot is kept as it is."""

from __future__ import annotations

from customers.importers.spec import SPACES

DOT = "\u2022"
# Python's white space and digits, spelt out: \s and \d in PostgreSQL hang on the
# database's locale, and in Python take in every script's.
_WS = f"[{SPACES}]"
_NOT_WS = f"[^{SPACES}]"

_RULES = {
    "email": (
        "CASE WHEN strpos({v}, '@') > 1 AND substr({v}, strpos({v}, '@') + 1) <> '' "
        "THEN left({v}, 1) || '•••@' || lower(substr({v}, strpos({v}, '@') + 1)) "
        "ELSE '•••' END"
    ),
    "phone": (
        "CASE WHEN length(regexp_replace({v}, '[^0-9]', '', 'g')) < 6 THEN '•••• •••' "
        "ELSE '•••• ••• ' || right(regexp_replace({v}, '[^0-9]', '', 'g'), 3) END"
    ),
    "date_of_birth": ("'••/••/' || coalesce(substring({v} from '((?:19|20)[0-9]{{2}})'), '••••')"),
    "name": (
        "CASE WHEN {v} = '' THEN '•••' ELSE "
        f"regexp_replace(regexp_replace({{v}}, '{_WS}+', ' ', 'g'), "
        f"'({_NOT_WS}){_NOT_WS}*', '\\1•••', 'g') END"
    ),
    "address": (
        f"CASE WHEN strpos(regexp_replace({{v}}, '^[,{SPACES}]+|[,{SPACES}]+$', '', 'g'), ',') = 0 "
        "THEN '•••' ELSE '•••, ' || "
        f"btrim(regexp_replace(regexp_replace({{v}}, '^[,{SPACES}]+|[,{SPACES}]+$', '', 'g'), "
        f"'^.*,', ''), '{SPACES}') END"
    ),
    "password_hash": "'••••••••'",
    "security_questions": "'••••••••'",
    "auth_tokens": "'••••••••'",
}
# customers.masking.tail_shown: at most a third (integer division), at most four.
_TAIL = (
    f"CASE WHEN length(regexp_replace({{v}}, '[{SPACES}-]', '', 'g')) <= 6 THEN '••••' "
    f"ELSE '•••• ' || right(regexp_replace({{v}}, '[{SPACES}-]', '', 'g'), "
    f"least(4, length(regexp_replace({{v}}, '[{SPACES}-]', '', 'g')) / 3)) END"
)


def mask_sql(code: str, value: str) -> str:
    """SQL masking ``value`` (an expression) by the rule of data class ``code``
    (an expression too)."""
    value = f"btrim({value}, '{SPACES}')"
    whens = " ".join(
        f"WHEN {code} = '{name}' THEN {rule.format(v=value)}" for name, rule in _RULES.items()
    )
    return (
        f"CASE WHEN strpos({value}, '{DOT}') > 0 THEN {value} "
        f"{whens} ELSE {_TAIL.format(v=value)} END"
    )
