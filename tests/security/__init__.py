"""Tests of the defences listed in docs/security.md."""
