"""History at scale: search, long chats, many chats."""
