"""Copies the top-level grammar/ and library/ folders into the package as package data."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent


class BuildWithData(build_py):
    def run(self):
        super().run()
        for name in ("grammar", "library"):
            dst = Path(self.build_lib) / "pde2gnn" / "_data" / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(ROOT / name, dst)


setup(cmdclass={"build_py": BuildWithData})
