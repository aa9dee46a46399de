"""The exceptions checks raise: ``Broken`` for a link that does not hold, ``Concern`` for one
that holds but is risky (a warning: reported, never a failure)."""


class Broken(Exception):
    """What is wrong, why, and how to fix it, in plain words.

    ``sts`` is the error STS itself answers in that case, when it is known.
    """

    def __init__(self, message: str, cause: str, fix: str, sts: str = ""):
        super().__init__(message)
        self.message, self.cause, self.fix, self.sts = message, cause, fix, sts


class Concern(Exception):
    """The link holds, but something about it deserves attention; same parts as ``Broken``."""

    def __init__(self, message: str, cause: str, fix: str):
        super().__init__(message)
        self.message, self.cause, self.fix = message, cause, fix
