"""The studio's error types. Each carries one sentence that a user can act on."""


class StudioError(Exception):
    """Base class: the message is a single user-facing sentence."""


class ValidationError(StudioError, ValueError):
    """A request, file or setting was refused; the message names the field and the allowed values."""


class ModelUnavailableError(StudioError):
    """A model's weights could not be found or loaded; the message says where we looked and how to fix it."""


class GenerationCancelled(StudioError):
    """The user cancelled a generation; no output file was written."""
