"""The two error types of the expression language.

Both carry the 0-based character index where the problem is, so the portal can
underline it, and a message an administrator can act on.
"""

from __future__ import annotations


class ExpressionError(ValueError):
    """An expression that cannot be parsed (or, as the subclass, evaluated).

    ``message`` is the sentence without the position; ``str()`` reads like
    ``Unexpected ")" at character 14: expected an argument``.
    """

    def __init__(self, headline: str, position: int, detail: str | None = None):
        self.headline = headline
        self.position = position
        self.detail = detail
        self.message = headline if not detail else f"{headline}: {detail}"
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.headline} at character {self.position}"
        return f"{text}: {self.detail}" if self.detail else text

    def __reduce__(self):
        return (type(self), (self.headline, self.position, self.detail))


class ExpressionEvaluationError(ExpressionError):
    """An expression that parsed but failed on a particular set of attributes.

    ``function`` names the function that failed, when there is one, so that the
    provisioning log can say which part of a long expression to look at.
    """

    def __init__(self, headline: str, position: int, detail: str | None = None, function: str | None = None):
        self.function = function
        super().__init__(headline, position, detail)

    def __str__(self) -> str:
        where = f"in {self.function} at character {self.position}" if self.function else f"at character {self.position}"
        text = f"{self.headline} ({where})"
        return f"{text}: {self.detail}" if self.detail else text

    def __reduce__(self):
        return (type(self), (self.headline, self.position, self.detail, self.function))


class FunctionFailure(Exception):
    """Raised inside a function implementation, which does not know where it was called.

    The evaluator adds the call's name and position and re-raises it as an
    ExpressionEvaluationError.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
