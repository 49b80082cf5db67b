"""Brand-aware rendering helpers. A brand is a render-time parameter: it supplies name, logo,
colours (as CSS custom properties), the wording around the notice and the privacy contact, and
never changes the questions or their markup."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

DEFAULT_COLOURS = {
    "primary": "#14365d",  # buttons, links
    "primary-text": "#ffffff",  # text on primary
    "accent": "#0b7a75",
    "background": "#ffffff",
    "text": "#1b1b1b",
}


@dataclass(frozen=True)
class BrandTheme:
    code: str
    name: str
    logo_url: str | None = None
    colours: dict = field(default_factory=dict)
    notice_intro: dict = field(default_factory=dict)  # {"da": ..., "en": ...}
    privacy_contact: str = ""
    embed_origins: tuple[str, ...] = ()

    def css_variables(self) -> str:
        merged = {**DEFAULT_COLOURS, **{k: v for k, v in self.colours.items() if HEX.match(v)}}
        return "; ".join(f"--brand-{k}: {v}" for k, v in sorted(merged.items()) if HEX.match(v))


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2.1 contrast ratio between two ``#rrggbb`` colours (1.0 to 21.0)."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
