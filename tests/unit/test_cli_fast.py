"""`garmentstyle --help` lists the commands without importing any of them (no torch: it took 1.9 s)."""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from garmentstyle import cli


def test_top_level_help_imports_no_torch():
    code = ("import sys\nfrom garmentstyle import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "NO-TORCH" in out.stderr, out.stderr
    for name in cli.COMMANDS:
        assert name in out.stdout


def test_options_and_progress_modules_import_no_torch():
    code = "import sys, garmentstyle.options, garmentstyle.progress; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_summaries_match_each_commands_own_help():
    for name in cli.COMMANDS:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"garmentstyle.commands.{name}").register(sub)
        helps = {a.dest: a.help for a in sub._choices_actions}
        assert helps[name] == cli.SUMMARIES[name], name


def test_command_detection():
    assert cli._command_in(["render", "--help"]) == "render"
    assert cli._command_in(["--help"]) is None and cli._command_in(["bogus"]) is None
