"""Domain errors. Raised in the core; turned into user messages only at the edges (CLI, Telegram).

`str(error)` is the English detail for logs and operators. Errors a user can cause on purpose also
carry their facts as attributes, so the edges can word the whole message in the user's language
(bot/adapters/messages.py).
"""


class KutipError(Exception):
    """Base for every error Kutip expects and can explain to a user."""


class ArticleError(KutipError):
    """The article is missing, unreadable, empty or of an unsupported kind."""


class NoArticleText(ArticleError):
    """The page or file holds no article: navigation only, a paywall stub, a few words."""

    def __init__(self, origin: str, sentences: int, words: int, min_sentences: int, min_words: int) -> None:
        super().__init__(
            f"no article text in {origin or 'the input'}: {sentences} sentences and {words} words after "
            f"extraction; an article needs at least {min_sentences} sentences and {min_words} words"
        )
        self.origin, self.sentences, self.words = origin, sentences, words
        self.min_sentences, self.min_words = min_sentences, min_words


class ArticleTooLarge(ArticleError):
    """The article is over the byte or sentence bound (KUTIP_ARTICLE_MAX_BYTES, KUTIP_ARTICLE_MAX_SENTENCES)."""

    def __init__(self, origin: str, size: int, limit: int, unit: str) -> None:
        super().__init__(f"{origin or 'the article'} has {size} {unit}, over the {limit}-{unit} limit")
        self.origin, self.size, self.limit, self.unit = origin, size, limit, unit


class FetchRefused(ArticleError):
    """A URL was refused before fetching: bad scheme, private address, too large."""


class FetchTooLarge(FetchRefused, ArticleTooLarge):
    """A page over the byte limit (KUTIP_FETCH_MAX_BYTES): by its Content-Length, or counted as it arrived,
    after decompression, when `size` is only how much had arrived (`complete` False)."""

    def __init__(self, url: str, size: int, limit: int, complete: bool) -> None:
        ArticleTooLarge.__init__(self, url, size, limit, "bytes")
        self.complete = complete
        stated = f"is {size} bytes, over" if complete else "is over"
        self.args = (f"{url} {stated} the {limit}-byte limit",)


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


class GenerationCancelled(KutipError):
    """Kutip is stopping: the model call was interrupted, and its job stays in the journal for the restart."""


class StorageError(KutipError):
    """Kutip could not write to (or read) its data folder; nothing was half-written, and a later try may succeed."""


class StorageLocked(StorageError):
    """Another process holds the database's lock past the busy timeout (KUTIP_DB_BUSY_TIMEOUT_S)."""


class StorageFull(StorageError):
    """The disk (or the database's size limit) is full: what was to be written was not."""


class QuestionError(KutipError):
    """The question is empty or too long."""


class QuestionEmpty(QuestionError):
    def __init__(self) -> None:
        super().__init__("the question is empty")


class QuestionTooLong(QuestionError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"the question is {length} characters; the limit is {limit}")
        self.length, self.limit = length, limit


class UnknownSentence(KutipError):
    """No sentence has the id asked for."""


class UnknownArticle(KutipError):
    """No article in the library has that id, number or URL."""


class ReadLimit(KutipError):
    """A chat added more articles this hour than KUTIP_LIBRARY_READS_PER_HOUR allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} new articles per chat per hour")
        self.limit = limit
