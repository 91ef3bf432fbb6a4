"""Backups, restores and the desktop-to-server transfer: whole tables copied as they are."""
