"""Kutip: answers about one article, each quoting its verbatim source sentence."""
