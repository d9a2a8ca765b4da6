"""The README stays short, and its Python example runs as written (it is extracted verbatim)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_is_short():
    assert len(README.read_text().split("\n")) <= 150


def test_readme_python_example_runs_verbatim(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "the README has one Python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert re.search(r"accuracy on the 30 unlabelled members: \d+\.\d %, \d+ evaluations", out)
