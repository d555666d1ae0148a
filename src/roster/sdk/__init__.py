"""Private modules of the Roster SDK. Import the public names from ``roster``."""
