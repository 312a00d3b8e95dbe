"""The command line validates first: one ``error:`` line, exit 2, nothing written.

Each bad case of issue 12 is here (and more): a mistake in the arguments or in
a file they name exits with 2 and one line on stderr before any work; a run
that fails midway exits with 1 and leaves nothing half-written behind.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from carekit._cli import main

GOOD_CSV = """ticket_id,at,event,channel,priority,customer_id,actor
T-1,2026-03-02T09:00:00+07:00,created,email,normal,c-1,
T-1,2026-03-02T09:40:00+07:00,agent_reply,,,,dewi
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """The bad (and good) files the cases name, in a folder of their own."""
    folder = tmp_path / "files"
    folder.mkdir()
    made = {
        "latin1.toml": "# caf\xe9\n".encode("latin-1"),
        "broken.toml": b"[policies\n",
        "invalid.toml": b'[policies.p.targets.email]\nfirst_response = "24x"\n',
        "no_phone.toml": (
            b'[policies.p.targets.email]\nfirst_response = "1h"\n[selector]\ndefault = "p"\n'
        ),
        "bad.csv": b"id,when\n1,2\n",
        "naive.csv": GOOD_CSV.replace("+07:00", "").encode(),
        "good.csv": GOOD_CSV.encode(),
        "a_file": b"not a folder",
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
    (folder / "a_folder").mkdir()
    return {name.split(".")[0]: folder / name for name in [*made, "a_folder"]}


# (arguments, the words the single error line must hold); {name} is a file above
BAD_USAGE: list[tuple[str, str]] = [
    ("", "required: command"),
    ("frobnicate", "invalid choice"),
    ("simulate --dayz 3", "unrecognized arguments"),
    ("simulate --days 0", "--days"),
    ("simulate --days -3", "--days"),
    ("simulate --days abc", "--days"),
    ("simulate --days 1000000", "from 1 to 366"),
    ("simulate --days 2.5", "--days"),
    ("simulate --seed x", "--seed"),
    ("simulate --seed -1", "--seed"),
    ("simulate --policies {missing}", "no such file"),
    ("simulate --policies {a_folder}", "not a file"),
    ("simulate --policies {latin1}", "UTF-8"),
    ("simulate --policies {broken}", "--policies"),
    ("simulate --policies {invalid}", "first_response"),
    ("simulate --replay {missing}", "--replay"),
    ("simulate --replay {a_folder}", "not a file"),
    ("simulate --replay {bad}", "header"),
    ("simulate --replay {naive}", "offset"),
    ("simulate --html {a_folder}", "is a folder"),
    ("simulate --html {a_folder}/no/such/report.html", "does not exist"),
    ("simulate --workdir {a_file}", "not a folder"),
    ("simulate --locale xx", "known locale"),
    ("simulate --locale ''", "known locale"),
    ("simulate --compare-policies {missing}", "--compare-policies"),
    ("simulate --compare-policies {invalid}", "--compare-policies"),
    ("simulate --compare-extra-agents 0", "--compare-extra-agents"),
    ("simulate --compare-extra-agents -1", "--compare-extra-agents"),
    ("simulate --compare-extra-agents 100000", "--compare-extra-agents"),
    ("check", "required: file"),
    ("check {missing}", "no such file"),
    ("check {a_folder}", "not a file"),
    ("staffing", "required: --calls"),
    ("staffing --calls ''", "--calls"),
    ("staffing --calls a,b", "not a number of calls"),
    ("staffing --calls 10,,20", "--calls"),
    ("staffing --calls 10,-5", "not a number of calls"),
    ("staffing --calls nan", "not a number of calls"),
    ("staffing --calls inf", "not a number of calls"),
    ("staffing --calls 1e12", "Erlangs"),
    ("staffing --calls 10 --aht 0s", "above zero"),
    ("staffing --calls 10 --aht -3m", "--aht"),
    ("staffing --calls 10 --aht 99999999999d", "--aht"),
    ("staffing --calls 10 --aht abc", "--aht"),
    ("staffing --calls 10 --interval 0s", "--interval"),
    ("staffing --calls 10 --level 1", "--level"),
    ("staffing --calls 10 --level 0", "--level"),
    ("staffing --calls 10 --level nan", "--level"),
    ("staffing --calls 10 --within -1s", "--within"),
    ("staffing --calls 10 --within 99999999999d", "--within"),
    ("staffing --calls 10 --shrinkage 1", "--shrinkage"),
    ("staffing --calls 10 --shrinkage 1.5", "--shrinkage"),
    ("staffing --calls 10 --shrinkage -0.1", "--shrinkage"),
    ("staffing --calls 10 --policies {missing}", "no such file"),
    ("staffing --calls 10 --policies {no_phone}", "phone"),
]


def _argv(line: str, files: dict[str, Path]) -> list[str]:
    names = {name: str(path) for name, path in files.items()}
    names["missing"] = str(files["a_folder"] / "missing.file")
    import shlex  # noqa: PLC0415 - only here

    return [part.format(**names) for part in shlex.split(line)]


@pytest.mark.parametrize(("line", "words"), BAD_USAGE)
def test_each_bad_argument_is_one_error_line_and_exit_2(
    line: str,
    words: str,
    files: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 2, one line 'error: ...' naming the argument, nothing on stdout, nothing written."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(work))
    argv = _argv(line, files)
    if argv[:1] == ["simulate"] and "--workdir" not in argv:
        argv += ["--workdir", str(work / "run")]
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    assert 2 == code
    assert "" == out
    lines = err.splitlines()
    assert 1 == len(lines), err
    assert lines[0].startswith("error: ")
    assert words in lines[0]
    assert [] == list(work.iterdir())  # no folder, database or report left behind


def test_bad_argument_cases_cover_every_reproducer() -> None:
    """The issue counted 47 bad-argument cases; this list keeps at least as many."""
    assert len(BAD_USAGE) >= 47
    assert len({line for line, _ in BAD_USAGE}) == len(BAD_USAGE)


@pytest.mark.parametrize(
    "argv",
    [
        ["staffing", "--calls", "10", "--shrinkage", "1"],
        ["simulate", "--days", "0"],
        ["check", "/no/such/file.toml"],
    ],
)
def test_a_real_process_prints_no_traceback(argv: list[str]) -> None:
    """Through `python -m carekit`: exit 2 and a single stderr line, no 'Traceback'."""
    done = subprocess.run(
        [sys.executable, "-m", "carekit", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 2 == done.returncode
    assert "Traceback" not in done.stderr
    assert 1 == len(done.stderr.splitlines())


def test_a_failed_check_is_exit_1_with_each_error(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`check` reports a bad file (not a bad argument): exit 1, each error on its line."""
    assert 1 == main(["check", str(files["latin1"])])
    assert "UTF-8" in capsys.readouterr().out


def test_a_run_that_fails_midway_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failure during the run: exit 1, one line, and no database or report behind."""
    from carekit.simulate import _report  # noqa: PLC0415

    def broken(*_: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_report, "render_html", broken)
    monkeypatch.setattr("carekit.simulate.render_html", broken)
    run = tmp_path / "run"
    assert 1 == main(["simulate", "--days", "1", "--workdir", str(run)])
    err = capsys.readouterr().err.splitlines()
    assert ["error: [Errno 28] No space left on device"] == [
        line for line in err if line.startswith("error")
    ]
    assert not run.exists()


def test_zero_days_leaves_no_database_so_the_next_run_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`simulate --days 0` left a database before, and the next run refused."""
    run = tmp_path / "run"
    with pytest.raises(SystemExit):
        main(["simulate", "--days", "0", "--workdir", str(run)])
    assert not run.exists()
    assert 0 == main(
        ["simulate", "--days", "1", "--workdir", str(run), "--html", str(tmp_path / "r.html")]
    )
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert not list(tmp_path.glob(".*.partial"))
    capsys.readouterr()


def test_huge_but_bounded_staffing_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """--calls 1e9 ran with no bound before; now it answers (work grows with sqrt(load))."""
    assert 0 == main(["staffing", "--calls", "1e9"])
    assert "1e+09" in capsys.readouterr().out
