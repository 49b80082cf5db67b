"""Writers for a round's dataset: CSV, Parquet, SPSS ``.sav``, Stata ``.dta`` and a ZIP bundle.

CSV and Parquet stream batch by batch. SPSS and Stata files are written by pyreadstat from a
data frame, which needs the whole table at once: they are built from the Parquet file (columnar
and typed, far smaller than the rows as Python objects), never from the database rows.
Labels are Danish: variable labels from the question text (Stata allows 80 characters, longer
ones are shortened there; the codebook has them in full), value labels from the bank's options.
"""

from __future__ import annotations

import csv
import json
import tempfile
import zipfile
from pathlib import Path

from .codebook import Variable, codebook, codebook_markdown
from .export import Dataset

FORMATS = ("csv", "parquet", "sav", "dta", "bundle")
EXTENSIONS = {"csv": "csv", "parquet": "parquet", "sav": "sav", "dta": "dta", "bundle": "zip"}
MIMETYPES = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
    "bundle": "application/zip",
}
STATA_LABEL = 80
SPSS_LABEL = 256


class ExportFormatError(ValueError):
    pass


def write_csv(ds: Dataset, path: Path) -> int:
    count = -1
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        for row in ds.csv_rows():
            writer.writerow(row)
            count += 1
    return count


def _arrow_type(v: Variable):
    import pyarrow as pa

    return {
        "integer": pa.int64(),
        "float": pa.float64(),
        "datetime": pa.timestamp("us"),
    }.get(v.type, pa.string())


def arrow_schema(ds: Dataset):
    import pyarrow as pa

    fields = []
    for v in ds.variables:
        meta = {"label_da": v.label_da, "label_en": v.label_en}
        if v.value_labels:
            meta["value_labels"] = json.dumps(
                {str(k): {"da": da, "en": en} for k, (da, en) in v.value_labels.items()},
                ensure_ascii=False,
            )
        fields.append(pa.field(v.name, _arrow_type(v), nullable=True, metadata=meta))
    meta = {"round": ds.round_code, "bank_version": ds.version}
    return pa.schema(fields, metadata=meta)


def write_parquet(ds: Dataset, path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(ds)
    count = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in ds.batches():
            columns = [[ds.typed_value(v, rec) for rec in batch] for v in ds.variables]
            writer.write_batch(
                pa.RecordBatch.from_arrays(
                    [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)],
                    schema=schema,
                )
            )
            count += len(batch)
    return count


def _frame(ds: Dataset, parquet: Path):
    """The typed data frame, columns renamed to their SPSS/Stata names, codes as floats."""
    import pyarrow.parquet as pq

    frame = pq.read_table(parquet).to_pandas()
    for v in ds.variables:
        if v.type == "integer":
            frame[v.name] = frame[v.name].astype("float64")
        elif v.type == "string":
            frame[v.name] = frame[v.name].astype(object).where(frame[v.name].notna(), "")
    return frame.rename(columns={v.name: v.stat_name for v in ds.variables})


def _load_frame(ds: Dataset, parquet: Path | None):
    if parquet is not None:
        return _frame(ds, parquet)
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp) / "data.parquet"
        write_parquet(ds, parquet)
        return _frame(ds, parquet)


def _labels(ds: Dataset, limit: int) -> tuple[dict, dict]:
    column_labels = {v.stat_name: _shorten(v.label_da, limit) for v in ds.variables}
    value_labels = {
        v.stat_name: {float(k): da for k, (da, _en) in v.value_labels.items()}
        for v in ds.variables
        if v.value_labels
    }
    return column_labels, value_labels


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text.encode("utf-8")) <= limit:
        return text
    while text and len((text + "…").encode("utf-8")) > limit:
        text = text[:-1]
    return text.rstrip() + "…"


def _file_label(ds: Dataset) -> str:
    return f"Rekrutteringssurvey {ds.round_code}, bank {ds.version}"[:80]


def write_sav(ds: Dataset, path: Path, parquet: Path | None = None, frame=None) -> int:
    import pyreadstat

    if frame is None:
        frame = _load_frame(ds, parquet)
    column_labels, value_labels = _labels(ds, SPSS_LABEL)
    missing = {v.stat_name: list(map(float, v.missing)) for v in ds.variables if v.missing}
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=_file_label(ds),
        column_labels=column_labels,
        variable_value_labels=value_labels,
        missing_ranges=missing or None,
        compress=True,
    )
    return len(frame)


def write_dta(ds: Dataset, path: Path, parquet: Path | None = None, frame=None) -> int:
    import pyreadstat

    if frame is None:
        frame = _load_frame(ds, parquet)
    column_labels, value_labels = _labels(ds, STATA_LABEL)
    pyreadstat.write_dta(
        frame,
        str(path),
        file_label=_file_label(ds),
        column_labels=column_labels,
        variable_value_labels=value_labels,
        version=15,
    )
    return len(frame)


def codebook_for(ds: Dataset, rows: int | None, scope: str) -> dict:
    return codebook(ds.bank, ds.variables, round_code=ds.round_code, rows=rows, scope=scope)


def write_bundle(ds: Dataset, path: Path, scope: str = "all") -> int:
    """A ZIP with every format and the codebook (JSON and Markdown)."""
    stem = ds.round_code
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        parquet = tmp_dir / f"{stem}.parquet"
        rows = write_parquet(ds, parquet)
        write_csv(ds, tmp_dir / f"{stem}.csv")
        frame = _frame(ds, parquet)
        write_sav(ds, tmp_dir / f"{stem}.sav", frame=frame)
        write_dta(ds, tmp_dir / f"{stem}.dta", frame=frame)
        del frame
        book = codebook_for(ds, rows, scope)
        (tmp_dir / "codebook.json").write_text(
            json.dumps(book, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        (tmp_dir / "codebook.md").write_text(codebook_markdown(book), encoding="utf-8")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in (
                f"{stem}.csv",
                f"{stem}.parquet",
                f"{stem}.sav",
                f"{stem}.dta",
                "codebook.json",
                "codebook.md",
            ):
                zf.write(tmp_dir / name, arcname=name)
    return rows


def write(ds: Dataset, fmt: str, path: Path, scope: str = "all") -> int:
    """Write ``ds`` as ``fmt`` to ``path``; returns the number of rows."""
    if fmt not in FORMATS:
        raise ExportFormatError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    path = Path(path)
    if fmt == "csv":
        return write_csv(ds, path)
    if fmt == "parquet":
        return write_parquet(ds, path)
    if fmt == "sav":
        return write_sav(ds, path)
    if fmt == "dta":
        return write_dta(ds, path)
    return write_bundle(ds, path, scope)
