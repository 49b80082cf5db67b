"""What STAR allows a brand to be: colours that keep WCAG AA contrast, embed origins that are
plain origins, plain-text wording within length limits. Each check returns messages that name
the value at fault (and the line, for origins), ready to show next to the field."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _

from survey_app.core.branding import DEFAULT_COLOURS, HEX, contrast_ratio

#: the colours a brand sets, in form order (keys of ``Brand.colours`` and ``--brand-*``)
COLOUR_KEYS = ("primary", "primary-text", "accent", "text", "background")

#: fixed colours of the shared stylesheet (survey.css) that sit on the brand's colours
NOTICE_BACKGROUND = "#f3f6f9"
HINT_TEXT = "#505a5f"
ERROR_TEXT = "#b10e1e"
WHITE = "#ffffff"

TEXT_AA = 4.5  # WCAG 2.1 AA, 1.4.3: normal-size text
NON_TEXT_AA = 3.0  # WCAG 2.1 AA, 1.4.11: graphical objects and component boundaries

NAME_MAX = 200
NOTICE_MAX = 600
PRIVACY_CONTACT_MAX = 500
ORIGINS_MAX = 20


def colour_label(key: str) -> str:
    return {
        "primary": _("Primary colour (buttons, links, header)"),
        "primary-text": _("Text on primary colour"),
        "accent": _("Accent colour"),
        "text": _("Text colour"),
        "background": _("Background colour"),
    }[key]


@dataclass(frozen=True)
class ContrastCheck:
    fg: str  # a colour key, or a fixed "#rrggbb"
    bg: str
    minimum: float
    #: which field the problem is reported on
    field: str


CONTRAST_CHECKS = (
    ContrastCheck("text", "background", TEXT_AA, "text"),
    ContrastCheck("primary-text", "primary", TEXT_AA, "primary-text"),
    ContrastCheck("primary", "background", TEXT_AA, "primary"),  # links on the page
    ContrastCheck("primary", WHITE, TEXT_AA, "primary"),  # secondary buttons are white
    ContrastCheck("text", NOTICE_BACKGROUND, TEXT_AA, "text"),  # the notice box
    ContrastCheck("primary", NOTICE_BACKGROUND, TEXT_AA, "primary"),  # its privacy link
    ContrastCheck(HINT_TEXT, "background", TEXT_AA, "background"),
    ContrastCheck(ERROR_TEXT, "background", TEXT_AA, "background"),
    ContrastCheck("accent", "background", NON_TEXT_AA, "accent"),  # progress bar, notice edge
)


def _describe(value: str, colours: dict) -> str:
    if value in colours:
        return f"{colour_label(value)} {colours[value]}"
    return _("STAR's fixed colour %(colour)s", colour=value)


def floor2(ratio: float) -> str:
    """The ratio with two decimals, rounded down so a refused 4.496 never reads as 4.50."""
    return f"{math.floor(ratio * 100) / 100:.2f}"


def colour_problems(colours: dict) -> dict[str, list[str]]:
    """``{field: [message, ...]}`` for malformed colours and every pair below its minimum.

    ``colours`` may be partial; missing keys take the default colours."""
    problems: dict[str, list[str]] = {}
    merged = dict(DEFAULT_COLOURS)
    for key in COLOUR_KEYS:
        value = colours.get(key)
        if value in (None, ""):
            continue
        if not HEX.match(value):
            problems.setdefault(key, []).append(
                _("%(value)s is not a colour; write it as #rrggbb, e.g. #14365d.", value=value)
            )
        else:
            merged[key] = value.lower()
    if problems:
        return problems
    for check in CONTRAST_CHECKS:
        fg = merged.get(check.fg, check.fg)
        bg = merged.get(check.bg, check.bg)
        ratio = contrast_ratio(fg, bg)
        if ratio < check.minimum:
            problems.setdefault(check.field, []).append(
                _(
                    "%(fg)s on %(bg)s has a contrast ratio of %(ratio)s:1; "
                    "WCAG AA needs at least %(minimum)s:1.",
                    fg=_describe(check.fg, merged),
                    bg=_describe(check.bg, merged),
                    ratio=floor2(ratio),
                    minimum=f"{check.minimum:g}",
                )
            )
    return problems


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOCAL_HOSTS = ("localhost", "127.0.0.1")


def parse_origin(value: str, *, allow_local: bool) -> tuple[str | None, str | None]:
    """``(origin, None)`` for an acceptable origin (normalised), else ``(None, reason)``."""
    raw = value.strip()
    if "*" in raw:
        return None, _("wildcards are not allowed; list each origin")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return None, _("not a valid address")
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("https", "http") or not parts.netloc:
        return None, _("must start with https://")
    if parts.username or parts.password:
        return None, _("must not contain a user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment or raw.endswith("?"):
        return None, _("must be an origin only (scheme, host and port), without a path")
    if host in _LOCAL_HOSTS:
        if not allow_local:
            return None, _("local addresses are only allowed in development")
    elif scheme != "https":
        return None, _("must use https://")
    elif not all(_HOST_LABEL.match(label) for label in host.split(".")) or "." not in host:
        return None, _(
            "%(host)s is not a valid host name (letters, digits, '-' and '.'; "
            "write Danish letters in punycode, xn--…)",
            host=host,
        )
    default = 443 if scheme == "https" else 80
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{scheme}://{host}{suffix}", None


def origin_problems(text: str, *, allow_local: bool) -> tuple[list[str], list[str]]:
    """``(origins, problems)`` from one origin per line; blank lines are skipped and repeats
    dropped. Each problem names its line and value."""
    origins: list[str] = []
    problems: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        origin, reason = parse_origin(line, allow_local=allow_local)
        if origin is None:
            problems.append(
                _("Line %(n)s, %(value)s: %(reason)s.", n=number, value=line.strip(), reason=reason)
            )
        elif origin not in origins:
            origins.append(origin)
    if len(origins) > ORIGINS_MAX:
        problems.append(_("At most %(n)s origins are allowed.", n=ORIGINS_MAX))
    return origins, problems


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str | None) -> str:
    """Plain text as typed: line ends unified, control characters removed, ends trimmed."""
    return _CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
