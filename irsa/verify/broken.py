"""The one exception every check raises for a link that does not hold."""


class Broken(Exception):
    """What is wrong, why, and how to fix it, in plain words.

    ``sts`` is the error STS itself answers in that case, when it is known.
    """

    def __init__(self, message: str, cause: str, fix: str, sts: str = ""):
        super().__init__(message)
        self.message, self.cause, self.fix, self.sts = message, cause, fix, sts
