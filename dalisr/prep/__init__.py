"""Data preparation: the library behind the ``dalisr`` prep commands."""
