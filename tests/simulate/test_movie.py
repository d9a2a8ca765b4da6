"""``pde2gnn simulate --movie``: an .mp4 through ffmpeg (the system's, or the one the optional
``imageio-ffmpeg`` package ships) beside the GIF path (Pillow), and the one message when no
ffmpeg is there."""
import subprocess

import numpy as np
import pytest

from pde2gnn.cli.commands import main
from pde2gnn.simulate import plots

ARGS = ["simulate", "fisher", "--n", "8", "--trajectories", "1", "--frames", "5", "--dt", "0.05", "--sample", "0",
        "--quiet"]


def test_simulate_writes_an_mp4_with_one_frame_per_saved_frame(tmp_path):
    exe = plots.ffmpeg_path()
    if exe is None:
        pytest.skip("no ffmpeg (neither on the PATH nor from imageio-ffmpeg): .mp4 not tested")
    movie = tmp_path / "fisher.mp4"
    assert main([*ARGS, "--out", str(tmp_path / "fisher.npz"), "--movie", str(movie)]) == 0
    probe = subprocess.run([exe, "-i", str(movie), "-map", "0:v:0", "-c", "copy", "-f", "null",
                            "-"], capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert "h264" in probe.stderr or "mpeg4" in probe.stderr          # a video stream
    frames = [ln for ln in probe.stderr.replace("\r", "\n").splitlines() if "frame=" in ln]
    assert int(frames[-1].split("frame=")[1].split()[0]) == 5
    assert np.load(tmp_path / "fisher.npz")["frames"].shape[1] == 5


def test_mp4_without_ffmpeg_is_one_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(plots, "ffmpeg_path", lambda: None)
    rc = main([*ARGS, "--out", str(tmp_path / "h.npz"), "--movie", str(tmp_path / "h.mp4")])
    err = capsys.readouterr().err
    assert rc == 2 and "needs ffmpeg" in err and "Traceback" not in err


def test_gif_is_written_by_pillow_whatever_ffmpeg(tmp_path):
    movie = tmp_path / "fisher.gif"
    assert main([*ARGS, "--out", str(tmp_path / "fisher.npz"), "--movie", str(movie)]) == 0
    from PIL import Image
    with Image.open(movie) as im:
        assert im.n_frames == 5
