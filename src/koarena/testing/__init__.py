"""Test doubles: the fake model server and its translator."""
