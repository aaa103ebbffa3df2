"""The platform-neutral coaching core. Nothing in here may import telegram or discord."""
