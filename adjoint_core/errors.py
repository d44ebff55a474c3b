"""The one exception the engine raises for bad user input."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and what is allowed."""

    def __init__(self, field: str, problem: str, allowed: str | None = None) -> None:
        self.field = field
        message = f"{field}: {problem}"
        if allowed:
            message += f" (allowed: {allowed})"
        super().__init__(message)
