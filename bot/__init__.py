"""A Telegram FAQ bot that answers questions from a dermatologist's skin-firming guide."""
