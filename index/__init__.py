"""Turns an article into searchable, addressable sentences."""
