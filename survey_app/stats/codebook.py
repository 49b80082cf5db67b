"""The variables of a round's dataset and its codebook, generated from the pinned bank version.

One variable list drives every format, so CSV, Parquet, SPSS and Stata carry the same columns:

- provenance: the case and response (round, bank version, brand, organisation, channel, mode,
  notice, timestamps, classification, stratum and selection probability);
- one variable per question id of the bank version, holding the answer as stored;
- expansions the bank defines: one 0/1 indicator per option of a multi question
  (``<id>_<code>``), the free text of an "other" option (``<id>_other``) and one variable per
  field of a contact question (``<id>_<field>``).

Each variable has a name valid in Stata and SPSS (at most 32 characters,
``[A-Za-z][A-Za-z0-9_]*``); where the dataset name is not valid it is mapped and the mapping is
recorded in the codebook. In the typed formats (Parquet, SPSS, Stata) coded answers are numbers
with value labels in Danish (and English in the codebook): yes/no as 1/0, a single choice as its
option code, and "don't know" as ``DONT_KNOW_CODE``. CSV keeps the values as stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from survey_app.questionnaire.bank import Bank, Question

DONT_KNOW_CODE = -9
YES_NO_LABELS = {1: ("Ja", "Yes"), 0: ("Nej", "No")}
CHOSEN_LABELS = {1: ("Valgt", "Selected"), 0: ("Ikke valgt", "Not selected")}
DONT_KNOW_LABEL = ("Ved ikke", "Don't know")

# name, type, Danish label, English label
PROVENANCE: tuple[tuple[str, str, str, str], ...] = (
    ("case_id", "integer", "Case-id", "Case id"),
    ("round", "string", "Runde", "Round"),
    ("bank_version", "string", "Version af spørgsmålsbanken", "Question bank version"),
    ("brand", "string", "Brand sagen blev gennemført under", "Brand the case was fielded under"),
    ("organisation", "string", "Organisation bag brandet", "Organisation owning the brand"),
    ("case_status", "string", "Sagens status", "Case status"),
    ("channel", "string", "Kanal virksomheden blev nået ad", "Channel that reached the company"),
    ("stratum", "string", "Stratum", "Stratum"),
    ("selection_prob", "float", "Udvælgelsessandsynlighed", "Selection probability"),
    ("design_weight", "float", "Designvægt (1/sandsynlighed)", "Design weight (1/probability)"),
    ("response_id", "integer", "Besvarelses-id", "Response id"),
    ("response_status", "string", "Besvarelsens status", "Response status"),
    ("mode", "string", "Besvarelsesform (web, telefon, blandet)", "Mode (web, phone, mixed)"),
    ("language", "string", "Sprog", "Language"),
    ("notice_version", "string", "Version af STARs oplysning", "Version of STAR's notice"),
    ("notice_shown_at", "datetime", "Oplysning vist (UTC)", "Notice shown at (UTC)"),
    ("started_at", "datetime", "Påbegyndt (UTC)", "Started at (UTC)"),
    ("completed_at", "datetime", "Gennemført (UTC)", "Completed at (UTC)"),
    ("updated_at", "datetime", "Senest ændret (UTC)", "Last updated (UTC)"),
    ("classification", "string", "Klassifikation af udfaldet", "Classification of the outcome"),
)
DISPOSITION = ("disposition", "string", "AAPOR-disposition", "AAPOR disposition")

MAX_NAME = 32
_VALID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


@dataclass
class Variable:
    #: the column name in CSV and Parquet
    name: str
    #: string, integer, float, datetime
    type: str
    label_da: str
    label_en: str
    #: where the value comes from: provenance, question, option, other, field
    kind: str = "provenance"
    question_id: str | None = None
    #: the option code (kind "option") or the contact field name (kind "field")
    part: int | str | None = None
    #: typed formats: code -> (da, en)
    value_labels: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: codes that SPSS treats as user-missing
    missing: tuple[int, ...] = ()
    #: the name in SPSS and Stata files (valid there); set by ``assign_stat_names``
    stat_name: str = ""


def _question_variables(q: Question) -> list[Variable]:
    text = q.text
    out: list[Variable] = []
    if q.type == "yes_no":
        out.append(
            Variable(
                q.id,
                "integer",
                text.da,
                text.en,
                "question",
                q.id,
                value_labels=dict(YES_NO_LABELS),
            )
        )
    elif q.type == "single":
        labels = {o.code: (o.label.da, o.label.en) for o in q.options}
        out.append(Variable(q.id, "integer", text.da, text.en, "question", q.id, None, labels))
    elif q.type == "multi":
        out.append(Variable(q.id, "string", text.da, text.en, "question", q.id))
        for o in q.options:
            out.append(
                Variable(
                    f"{q.id}_{o.code}",
                    "integer",
                    f"{text.da}: {o.label.da}",
                    f"{text.en}: {o.label.en}",
                    "option",
                    q.id,
                    o.code,
                    dict(CHOSEN_LABELS),
                )
            )
        if q.other_codes:
            out.append(
                Variable(
                    f"{q.id}_other",
                    "string",
                    f"{text.da}: anden, tekst",
                    f"{text.en}: other, text",
                    "other",
                    q.id,
                )
            )
    elif q.type == "integer":
        labels = {DONT_KNOW_CODE: DONT_KNOW_LABEL} if q.dont_know else {}
        if q.dont_know and q.dont_know_label is not None:
            labels = {DONT_KNOW_CODE: (q.dont_know_label.da, q.dont_know_label.en)}
        out.append(
            Variable(
                q.id,
                "integer",
                text.da,
                text.en,
                "question",
                q.id,
                None,
                labels,
                missing=(DONT_KNOW_CODE,) if q.dont_know else (),
            )
        )
    elif q.type == "contact":
        out.append(Variable(q.id, "string", text.da, text.en, "question", q.id))
        for f in q.fields:
            out.append(
                Variable(
                    f"{q.id}_{f.name}",
                    "string",
                    f"{text.da}: {f.label.da}",
                    f"{text.en}: {f.label.en}",
                    "field",
                    q.id,
                    f.name,
                )
            )
    else:  # month, text
        out.append(Variable(q.id, "string", text.da, text.en, "question", q.id))
    return out


def build_variables(bank: Bank, with_disposition: bool = False) -> list[Variable]:
    variables = [Variable(n, t, da, en) for n, t, da, en in PROVENANCE]
    if with_disposition:
        variables.append(Variable(*DISPOSITION))
    for q in bank.ordered_questions():
        variables.extend(_question_variables(q))
    assign_stat_names(variables)
    return variables


def stat_name(name: str, taken: set[str]) -> str:
    """A name valid in Stata and SPSS, unique within ``taken`` (which it is added to)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not base or not base[0].isalpha():
        base = "v_" + base
    base = base[:MAX_NAME]
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f"_{n}"
        candidate = base[: MAX_NAME - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def assign_stat_names(variables: list[Variable]) -> None:
    taken: set[str] = set()
    # Valid names are kept first, so a mapped name never takes a valid one's place.
    for v in variables:
        if _VALID.match(v.name) and v.name.lower() not in taken:
            v.stat_name = v.name
            taken.add(v.name.lower())
    for v in variables:
        if not v.stat_name:
            v.stat_name = stat_name(v.name, taken)


def codebook(
    bank: Bank, variables: list[Variable], *, round_code: str, rows: int | None, scope: str
) -> dict:
    """The codebook as a JSON-ready dict."""
    questions = []
    for q in bank.ordered_questions():
        questions.append(
            {
                "id": q.id,
                "page": bank.page_of(q.id).id,
                "type": q.type,
                "text": q.text.to_dict(),
                "required": q.required,
                "shown_when": q.shown_when,
                "ends_survey_when": q.ends_survey_when,
                "variables": [v.name for v in variables if v.question_id == q.id],
            }
        )
    return {
        "round": round_code,
        "bank_version": bank.version,
        "bank_content_hash": bank.content_hash,
        "scope": scope,
        "rows": rows,
        "dont_know_code": DONT_KNOW_CODE,
        "variables": [
            {
                "name": v.name,
                "stat_name": v.stat_name,
                "type": v.type,
                "kind": v.kind,
                "question_id": v.question_id,
                "label": {"da": v.label_da, "en": v.label_en},
                "value_labels": [
                    {"value": code, "da": da, "en": en}
                    for code, (da, en) in sorted(v.value_labels.items())
                ],
                "missing_values": list(v.missing),
            }
            for v in variables
        ],
        "renamed_for_spss_and_stata": {
            v.name: v.stat_name for v in variables if v.name != v.stat_name
        },
        "questions": questions,
    }


def _md(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def codebook_markdown(book: dict) -> str:
    """The codebook for people: variables, labels in Danish and English, values, routing."""
    lines = [
        f"# Kodebog / Codebook – runde {book['round']}",
        "",
        f"- Spørgsmålsbank / question bank: version **{book['bank_version']}** "
        f"(sha256 `{book['bank_content_hash']}`)",
        f"- Udtræk / scope: {book['scope']}",
        f"- Rækker / rows: {book['rows'] if book['rows'] is not None else '–'}",
        f'- «Ved ikke» / "don\'t know" = {book["dont_know_code"]} i/in Parquet, SPSS, Stata '
        "(`dont_know` i/in CSV)",
        "",
        "## Variabler / Variables",
        "",
        "| Variabel | SPSS/Stata | Type | Etiket (da) | Label (en) | Værdier / values |",
        "|---|---|---|---|---|---|",
    ]
    for v in book["variables"]:
        values = "; ".join(f"{x['value']} = {x['da']} / {x['en']}" for x in v["value_labels"])
        lines.append(
            f"| `{v['name']}` | `{v['stat_name']}` | {v['type']} | {_md(v['label']['da'])} | "
            f"{_md(v['label']['en'])} | {_md(values)} |"
        )
    lines += ["", "## Spørgsmål og routing / Questions and routing", ""]
    for q in book["questions"]:
        lines.append(f"### `{q['id']}` ({q['type']}, side/page `{q['page']}`)")
        lines.append("")
        lines.append(f"- da: {_md(q['text']['da'])}")
        lines.append(f"- en: {_md(q['text']['en'])}")
        lines.append(f"- Vises når / shown when: `{q['shown_when'] or 'altid / always'}`")
        if q["ends_survey_when"]:
            lines.append(f"- Afslutter når / ends survey when: `{q['ends_survey_when']}`")
        lines.append(f"- Variabler / variables: {', '.join(f'`{n}`' for n in q['variables'])}")
        lines.append("")
    if book["renamed_for_spss_and_stata"]:
        lines += ["## Omdøbt i SPSS/Stata / Renamed in SPSS/Stata", ""]
        for name, new in book["renamed_for_spss_and_stata"].items():
            lines.append(f"- `{name}` → `{new}`")
        lines.append("")
    return "\n".join(lines)
