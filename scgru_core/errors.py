"""Typed refusals. Every message says what went wrong *and* what to do about it,
so the app and the CLI can show it verbatim instead of a traceback."""


class ScgruError(Exception):
    """Base class of every error the engine raises on purpose."""


class DataError(ScgruError, ValueError):
    """The input series cannot be used as given."""


class EmptyDataError(DataError):
    pass


class UnsupportedFileTypeError(DataError):
    pass


class DecodeError(DataError):
    pass


class FileTooLargeError(DataError):
    pass


class NoNumericColumnError(DataError):
    pass


class ColumnNotFoundError(DataError):
    pass


class NonFiniteValuesError(DataError):
    pass


class ConstantSeriesError(DataError):
    pass


class SeriesTooShortError(DataError):
    pass


class AmbiguousDatesError(DataError):
    """Dates that read day first or month first equally well: the person chooses the order."""


class TimeColumnError(DataError):
    """A time column too much of which is not time stamps."""


class ConfigError(ScgruError, ValueError):
    """A setting is out of its valid range."""


class TrainingDivergedError(ScgruError, RuntimeError):
    """The loss became NaN or infinite; the model holds the last good weights."""

    def __init__(self, message: str, epoch: int):
        super().__init__(message)
        self.epoch = epoch

    def __reduce__(self):  # so it crosses a process boundary (a pool worker's failure reaches the caller intact)
        return type(self), (str(self), self.epoch)


class CheckpointError(ScgruError, ValueError):
    """A saved run is missing, mismatched or has been tampered with."""


class ExecutorError(ScgruError, RuntimeError):
    """Where the runs were to execute cannot take them (Ray unreachable, failed to start, or ended its process)."""


class ClassroomError(ScgruError, ValueError):
    """A class's shared state refuses a write: a nickname it cannot show, a full class, an entry below the
    challenge's sparsity, or a class database it cannot open."""
