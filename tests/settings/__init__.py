"""Tests for the settings blueprint: appearance, language, themes."""
