"""The one exception type for problems a user can cause (bad files, bad options, no network)."""


class RealBasicVSRError(Exception):
    """A user-facing error: its message is one line meant for people; the CLI prints it and exits 2."""
