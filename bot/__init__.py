"""article-qa application: settings, command line, REPL and Discord front-ends."""
