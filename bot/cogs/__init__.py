"""Discord cogs of the article-qa bot."""
