"""Small C extensions built from the project's own sources by ``pip install -e .`` (see setup.py)."""
