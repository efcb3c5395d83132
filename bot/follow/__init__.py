"""Standing queries: a server follows a question, and the bot posts new articles that answer it."""
