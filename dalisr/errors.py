"""The one exception type for problems a user can cause and fix."""


class DalisrError(Exception):
    """A user-fixable problem: bad option, missing key, corrupt bytes, wrong sizes.

    Messages name what is wrong (the key or option), where (the store or file)
    and how to fix it, so that a training run that stops says why in one line.
    """
