"""CLI sub-commands. Each module exposes ``register(subparsers)`` that adds its parser and sets ``func``.

The modules are thin shells over the Python API: parse, call, print. ``garmentstyle.cli`` lists them in
``COMMANDS``.
"""
