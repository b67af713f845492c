"""What the core says when it asserts no answer: part of the reply, not an error (ReplyKind)."""

from bot.core.results import ReplyKind

# The flat refusal: the article has nothing about the question.
REFUSAL = {
    "id": "Artikel ini tidak menyebutkan hal itu.",
    "en": "The article doesn't say.",
}
# The question is about the article, but no answer could be confirmed: the closest sentences follow.
CLOSEST = {
    "id": "Saya tidak bisa memastikan artikel ini menjawab persis itu. Yang paling dekat:",
    "en": "I can't confirm that the article answers exactly this. The closest it says:",
}
REPLY_TEXTS = {ReplyKind.NOT_IN_ARTICLE: REFUSAL, ReplyKind.CLOSEST: CLOSEST}
