"""The local Media Intelligence endpoint for tests and demos (`thumbsweep emulate`)."""
