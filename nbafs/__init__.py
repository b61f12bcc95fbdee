"""nbafs: the project's command line and the settings every package shares."""
