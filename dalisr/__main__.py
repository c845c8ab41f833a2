"""``python -m dalisr ...`` runs the ``dalisr`` command."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="dalisr")
