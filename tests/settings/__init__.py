"""Tests for "A Toca": personas, appearance, language, themes."""
