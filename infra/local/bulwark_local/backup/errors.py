"""The error a backup, copy or restore of a kind raises to fail its job."""


class KindError(Exception):
    """A backup, copy or restore that fails; the message becomes the job's StatusMessage."""
