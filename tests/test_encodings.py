"""Korean spreadsheets: CP949 CSV and Excel's UTF-16 "Unicode text" read with --encoding."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli import Thumbsweep
from worker.errors import ConfigError, InputError
from worker.input.jobs import Job, read_jobs
from worker.settings import load_settings

ROWS = [("작업공간", 1, 11), ("작업공간", 2, 21), ("ws", 3, 31)]


def _text(delimiter: str = ",", newline: str = "\n") -> str:
    """A manifest with Korean workspace names."""
    lines = [delimiter.join(("workspace", "person_id", "thumbnail_id"))]
    lines += [delimiter.join((w, str(p), str(t))) for w, p, t in ROWS]
    return newline.join(lines) + newline


def _jobs(path: Path, encoding: str, delimiter: str = ",") -> list[tuple[str, int, int, int]]:
    """The jobs read from `path`, as (workspace, person, first thumbnail, line)."""
    found = list(read_jobs(str(path), "auto", delimiter, encoding))
    assert all(isinstance(item, Job) for item in found), found
    return [
        (j.workspace, j.person_id, j.thumbnail_ids[0], j.line) for j in found if isinstance(j, Job)
    ]


EXPECTED = [(w, p, t, line) for line, (w, p, t) in enumerate(ROWS, start=2)]


def test_cp949_csv_reads_with_encoding_cp949(tmp_path: Path) -> None:
    """A CSV saved as CP949 (Excel in Korea) reads with --encoding cp949."""
    path = tmp_path / "in.csv"
    path.write_bytes(_text(newline="\r\n").encode("cp949"))
    assert _jobs(path, "cp949") == EXPECTED


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_detected_by_auto(tmp_path: Path, codec: str) -> None:
    """UTF-16 (LE as Excel saves it, and BE) with a byte-order mark reads with auto."""
    bom = "\ufeff".encode(codec)
    path = tmp_path / "in.csv"
    path.write_bytes(bom + _text(newline="\r\n").encode(codec))
    assert _jobs(path, "auto") == EXPECTED


def test_excel_unicode_text_reads_with_delimiter_tab(tmp_path: Path) -> None:
    """Excel's "Unicode text" (UTF-16LE, BOM, CRLF, tabs, .txt) reads with --delimiter tab."""
    path = tmp_path / "manifest.txt"
    path.write_bytes(b"\xff\xfe" + _text("\t", "\r\n").encode("utf-16-le"))
    assert _jobs(path, "auto", "tab") == EXPECTED


def test_utf16_tab_file_without_delimiter_hints_delimiter_tab(tmp_path: Path) -> None:
    """A tab-delimited file read with the default comma says to use --delimiter tab."""
    path = tmp_path / "manifest.txt"
    path.write_bytes(b"\xff\xfe" + _text("\t", "\r\n").encode("utf-16-le"))
    with pytest.raises(InputError, match="--delimiter tab"):
        list(read_jobs(str(path), "auto", ",", "auto"))


def test_explicit_utf16_reads_a_file_with_its_bom(tmp_path: Path) -> None:
    """--encoding utf-16 reads a UTF-16 file written by Python's codec (BOM included)."""
    path = tmp_path / "in.csv"
    path.write_bytes(_text().encode("utf-16"))
    assert _jobs(path, "utf-16") == EXPECTED


def test_utf16_line_over_1_mib_is_refused(tmp_path: Path) -> None:
    """The 1 MiB line rule holds for UTF-16 input too: no line is read whole into memory."""
    path = tmp_path / "in.csv"
    long_row = "가" * (1 << 20) + ",1,2\r\n"
    path.write_bytes(
        b"\xff\xfe" + ("workspace,person_id,thumbnail_id\r\n" + long_row).encode("utf-16-le")
    )
    with pytest.raises(InputError, match="longer than 1 MiB"):
        list(read_jobs(str(path), "auto", ",", "auto"))


def test_auto_on_cp949_bytes_names_encoding_cp949_and_the_line(tmp_path: Path) -> None:
    """auto meeting bytes that are not UTF-8 says to use --encoding cp949, naming the line."""
    path = tmp_path / "in.csv"
    path.write_bytes(_text().encode("cp949"))
    with pytest.raises(InputError, match=r"line 2\).*--encoding cp949"):
        list(read_jobs(str(path), "auto", ",", "auto"))


def test_bad_bytes_in_cp949_input_name_the_line(tmp_path: Path) -> None:
    """Bytes that are not CP949 either are refused, naming the encoding and the line."""
    path = tmp_path / "in.csv"
    path.write_bytes(_text().encode("cp949") + b"ws,4,\x80\xff\n")
    with pytest.raises(InputError, match=r"not valid cp949 \(line 5\)"):
        list(read_jobs(str(path), "auto", ",", "cp949"))


def test_unknown_encoding_is_a_configuration_error() -> None:
    """--encoding must name a codec Python knows; the message says so."""
    with pytest.raises(ConfigError, match=r"encoding: .*unknown encoding 'klingon'"):
        load_settings({"encoding": "klingon"}, None)


async def test_cli_cp949_file_exits_2_with_hint_and_sends_nothing(tmp_path: Path) -> None:
    """`run` on a CP949 file (default auto) exits 2, hints --encoding cp949, writes no ledger."""
    path = tmp_path / "in.csv"
    path.write_bytes(_text().encode("cp949"))
    ledger = tmp_path / "ledger.jsonl"
    done = await Thumbsweep().run(
        "run", str(path), "--ledger", str(ledger), "--base-url", "http://127.0.0.1:9"
    )
    assert done.code == 2, done.err
    assert "--encoding cp949" in done.err
    assert "line 2" in done.err
    assert not ledger.exists()


async def test_cli_cp949_file_with_encoding_flag_dry_runs(tmp_path: Path) -> None:
    """`run --encoding cp949 --dry-run` reads every Korean row (exit 0, three dry_run ids)."""
    path = tmp_path / "in.csv"
    path.write_bytes(_text().encode("cp949"))
    ledger = tmp_path / "ledger.jsonl"
    done = await Thumbsweep(credentials=False).run(
        "run", str(path), "--encoding", "cp949", "--dry-run", "--ledger", str(ledger)
    )
    assert done.code == 0, done.err
    text = ledger.read_text(encoding="utf-8")
    assert text.count('"status":"dry_run"') == 3
    assert "작업공간" in text


_WORKSPACE = st.text(
    st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters=',"'
    ),
    min_size=1,
    max_size=12,
).filter(lambda w: w.strip() == w and w.strip() != "" and w[0] != "\ufeff")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(_WORKSPACE, st.integers(0, 10**6), st.integers(1, 10**6)), max_size=8))
def test_utf16_input_reads_as_its_utf8_twin(
    tmp_path: Path, rows: list[tuple[str, int, int]]
) -> None:
    """Any manifest reads the same from UTF-16LE with a BOM and CRLF (auto) as from UTF-8."""
    text = "workspace,person_id,thumbnail_id\r\n" + "".join(f"{w},{p},{t}\r\n" for w, p, t in rows)
    utf8, utf16 = tmp_path / "a.csv", tmp_path / "b.csv"
    utf8.write_bytes(text.encode("utf-8"))
    utf16.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert list(read_jobs(str(utf16))) == list(read_jobs(str(utf8)))
