"""Getting data out: one chat as Markdown or JSON, everything as one streamed JSON file."""
