"""Hip Coach: a chat coach for hip mobility."""
