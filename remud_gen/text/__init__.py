"""Text facts every stage shares: which characters are Chinese, and what language a text is in."""
