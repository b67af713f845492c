"""Domain errors. Raised in the core; turned into user messages only at the edges (CLI, Telegram)."""


class KutipError(Exception):
    """Base for every error Kutip expects and can explain to a user."""


class ArticleError(KutipError):
    """The article is missing, unreadable, empty or of an unsupported kind."""


class FetchRefused(ArticleError):
    """A URL was refused before fetching: bad scheme, private address, too large."""


class FetchFailed(ArticleError):
    """A URL could not be fetched: unreachable, timed out, HTTP error."""


class IndexStale(KutipError):
    """The index on disk does not match the article, the model or the format."""


class ModelError(KutipError):
    """A model could not be found, assembled or verified."""


class ChecksumMismatch(ModelError):
    """A model file's SHA-256 differs from the pinned value."""


class ModelUnavailable(ModelError):
    """The model server did not answer in time, or at all; a later question may succeed."""


class QuestionError(KutipError):
    """The question is empty or too long."""


class UnknownSentence(KutipError):
    """No sentence has the id asked for."""
