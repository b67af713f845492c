"""What the core says when the article does not answer: the refusal is part of the answer, not an error."""

REFUSAL = {
    "id": "Artikel ini tidak menyebutkan hal itu.",
    "en": "The article doesn't say.",
}
