"""The article library: articles read from chats and the CLI, kept on disk and in SQLite (issue 10)."""
